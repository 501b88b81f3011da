// Whether a change of the inventory, between the commit a stage was built from
// and the branch's commit now, can reach the host the stage plays as (issue
// 28). When it cannot, the stage's variables and groups are those of its
// build, and the run need not start Ansible to list the inventory again.
//
// The proof is kept narrow: it covers the everyday edit (a host's variable on
// its inventory line, in host_vars/, in a group_vars/ of groups the master is
// not in) and answers "cannot tell" for everything else, which then lists the
// inventory with Ansible as before. What it rests on:
// - the caller has checked that the two commits differ only in the inventory
//   sources (inventory*, group_vars/, host_vars/ of ANSIBLE_ROOT_DIR: the tree
//   without them is the same), that the image (its Ansible), the hostname and
//   the settings are those of the build, and that no play reads other hosts;
// - the only inventory sources are static INI files: no script (an executable
//   file), no YAML or plugin configuration, no folder inside an inventory
//   folder, no link. Ansible reads a file named without extension as YAML when
//   it is a YAML mapping, so such a file is no INI file here;
// - in an INI file, every line but the host lines of host sections (section
//   headers, [g:vars], [g:children], hosts before any header) is the same, and
//   every host whose lines differ is a plain name (no range, no quoting), is
//   not the master, and is in the same sections before and after: no group
//   gains or loses a host, so the tree of groups Ansible prints is the same;
// - host_vars/<h> reaches host h only, group_vars/<g> the hosts of group g
//   only (Ansible matches <name>, <name>.yml, <name>.yaml, <name>.json and the
//   folder <name>/): a file whose name is, or begins with, the master's name,
//   or one of its groups' (with their parents and `all`), reaches the master.
//   Without the master's groups (no listing kept from its build) no
//   group_vars/ change is taken.
import path from 'node:path';

/** A file of the inventory sources, as git has it: path relative to ANSIBLE_ROOT_DIR. */
export interface InventoryFile {
  /** The git mode: 100644, 100755, 120000 (a link), 160000 (a submodule). */
  mode: string;
  /** The blob's object id: equal ids, equal contents. */
  blob: string;
  /** The text, for the files outside group_vars/ and host_vars/ (what is parsed as INI). */
  text?: string;
}

export interface InventoryChangeInput {
  /** The hostname the stage plays as. */
  master: string;
  /** Its groups at the build, with their parents (from the kept listing); undefined when not known. */
  masterGroups: readonly string[] | undefined;
  before: ReadonlyMap<string, InventoryFile>;
  after: ReadonlyMap<string, InventoryFile>;
}

export type InventoryChange = { otherHostsOnly: true; hosts: string[] } | { otherHostsOnly: false; why: string };

type Place = { kind: 'source' } | { kind: 'host_vars' | 'group_vars'; entity: string } | { kind: 'other' };

/** Whether an entry of ANSIBLE_ROOT_DIR is one of the inventory sources (as AnsibleRepository.inventorylessTree leaves them out). */
export function isInventoryEntry(name: string): boolean {
  return name.startsWith('inventory') || name === 'host_vars' || name === 'group_vars';
}

/** Whether Ansible reads `file` (relative to ANSIBLE_ROOT_DIR) as an inventory source (its text is then needed), not as variables. */
export function isInventorySource(file: string): boolean {
  return placeOf(file).kind === 'source';
}

/** Where a path of the inventory sources is, for what it can reach. */
function placeOf(file: string): Place {
  const parts = file.split('/');
  const vars = (at: number): Place | undefined => {
    const kind = parts[at];
    return (kind === 'host_vars' || kind === 'group_vars') && parts.length > at + 1 ? { kind, entity: parts[at + 1] ?? '' } : undefined;
  };
  const top = parts[0] ?? '';
  if (top === 'host_vars' || top === 'group_vars') return vars(0) ?? { kind: 'other' };
  if (!top.startsWith('inventory')) return { kind: 'other' };
  if (parts.length === 1) return { kind: 'source' };
  // An inventory folder: its sources, and its own group_vars/ and host_vars/.
  if (parts.length === 2 && parts[1] !== 'host_vars' && parts[1] !== 'group_vars') return { kind: 'source' };
  return vars(1) ?? { kind: 'other' };
}

/** Whether a host_vars/ or group_vars/ entry named `entity` is read for `name` (name, name.yml, name/, ...). */
function reaches(entity: string, name: string): boolean {
  const a = entity.toLowerCase();
  const b = name.toLowerCase();
  return a === b || a.startsWith(`${b}.`);
}

/** Why `file` is not a static INI source Ansible reads as such, or undefined when it is one. */
function notIni(file: string, entry: InventoryFile): string | undefined {
  if (entry.mode !== '100644') return `${file} is ${entry.mode === '100755' ? 'an executable (an inventory script)' : 'a link or a submodule'}`;
  const ext = path.posix.extname(file);
  if (ext !== '' && ext !== '.ini') return `${file} is not an INI inventory file`;
  if (looksLikeYaml(entry.text ?? '')) return `${file} reads as YAML`;
  return undefined;
}

/** A YAML mapping (Ansible's yaml plugin, tried before ini, takes it): a `key:` at the start of a line. */
function looksLikeYaml(text: string): boolean {
  return text.split('\n').some((line) => !/^\s*[#;]/.test(line) && /^\s*[^\s=[#;][^\s=]*:(\s|$)/.test(line));
}

interface IniView {
  /** Every line but the hosts' lines of host sections, with its section, in order. */
  structure: string[];
  /** A host's lines, each with its section. */
  lines: Map<string, string[]>;
  /** A host's sections. */
  sections: Map<string, Set<string>>;
  /** First words of host lines that are not a plain host name (a range, quotes...). */
  unplain: Set<string>;
}

const HEADER = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$/;
const PLAIN_HOST = /^[A-Za-z0-9_.-]+(?::\d+)?$/;

function readIni(text: string): IniView {
  const view: IniView = { structure: [], lines: new Map(), sections: new Map(), unplain: new Set() };
  // Before any header: hosts of no group (Ansible's `ungrouped`).
  let section = '';
  let hosts = true;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = HEADER.exec(line);
    if (header !== null || line.startsWith('[')) {
      section = header?.[1] ?? line;
      hosts = header !== null && (header[2] === undefined || header[2] === 'hosts');
      view.structure.push(line);
      continue;
    }
    if (!hosts) {
      view.structure.push(`${section}\0${line}`);
      continue;
    }
    const word = line.split(/\s+/)[0] ?? '';
    const plain = PLAIN_HOST.test(word);
    const name = plain ? word.replace(/:\d+$/, '') : word;
    if (!plain) view.unplain.add(word);
    view.lines.set(name, [...(view.lines.get(name) ?? []), `${section}\0${line}`]);
    view.sections.set(name, (view.sections.get(name) ?? new Set()).add(section));
  }
  return view;
}

const sameSet = (a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined) => a !== undefined && b !== undefined && a.size === b.size && [...a].every((item) => b.has(item));

/** The hosts whose lines differ between two versions of an INI file, or why the change may reach the master. */
function iniChange(file: string, before: string, after: string, master: string): { hosts: string[] } | { why: string } {
  const old = readIni(before);
  const now = readIni(after);
  if (old.structure.join('\n') !== now.structure.join('\n')) return { why: `${file}: a line other than a host's changed (a section, a group's variables or children)` };
  const hosts = [];
  for (const name of new Set([...old.lines.keys(), ...now.lines.keys()])) {
    const a = [...(old.lines.get(name) ?? [])].sort().join('\n');
    const b = [...(now.lines.get(name) ?? [])].sort().join('\n');
    if (a === b) continue;
    if (old.unplain.has(name) || now.unplain.has(name)) return { why: `${file}: the changed host line '${name}' is not a plain host name` };
    if (name.toLowerCase() === master.toLowerCase()) return { why: `${file}: the line of ${master} changed` };
    if (!sameSet(old.sections.get(name), now.sections.get(name))) return { why: `${file}: ${name} was added, removed or moved between groups` };
    hosts.push(name);
  }
  return { hosts };
}

/** Whether the change from `before` to `after` can reach `master`; when it cannot, the hosts it is about. */
export function inventoryChange(input: InventoryChangeInput): InventoryChange {
  const { master, before, after } = input;
  const hosts = new Set<string>();
  // Every source, changed or not, must be one this reasoning covers: an unchanged script may read a changed file.
  for (const [tree, side] of [[before, 'before'], [after, 'after']] as const) {
    for (const [file, entry] of tree) {
      const place = placeOf(file);
      if (place.kind === 'other') return { otherHostsOnly: false, why: `${file} (${side}) is not a file of an inventory this check reads` };
      if (entry.mode !== '100644' && entry.mode !== '100755') return { otherHostsOnly: false, why: `${file} is a link or a submodule` };
      if (place.kind === 'source') {
        const why = notIni(file, entry);
        if (why !== undefined) return { otherHostsOnly: false, why };
      }
    }
  }
  const groups = input.masterGroups === undefined ? undefined : [...new Set(['all', ...input.masterGroups])];
  for (const file of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const old = before.get(file);
    const now = after.get(file);
    if (old !== undefined && now !== undefined && old.blob === now.blob && old.mode === now.mode) continue;
    const place = placeOf(file);
    if (place.kind === 'source') {
      if (old === undefined || now === undefined) return { otherHostsOnly: false, why: `the inventory source ${file} was ${old === undefined ? 'added' : 'removed'}` };
      const change = iniChange(file, old.text ?? '', now.text ?? '', master);
      if ('why' in change) return { otherHostsOnly: false, why: change.why };
      change.hosts.forEach((host) => hosts.add(host));
    } else if (place.kind === 'host_vars') {
      if (reaches(place.entity, master)) return { otherHostsOnly: false, why: `${file} is ${master}'s` };
      hosts.add(place.entity.replace(/\.(ya?ml|json)$/i, ''));
    } else if (place.kind === 'group_vars') {
      if (groups === undefined) return { otherHostsOnly: false, why: `${file} changed, and ${master}'s groups at its build are not known` };
      const group = groups.find((name) => reaches(place.entity, name));
      if (group !== undefined) return { otherHostsOnly: false, why: `${file} is read for ${master} (group ${group})` };
      hosts.add(`group ${place.entity.replace(/\.(ya?ml|json)$/i, '')}`);
    }
  }
  return { otherHostsOnly: true, hosts: [...hosts].sort() };
}

/** The groups of `host` in `ansible-inventory --list` output, with every parent group up to `all`. */
export function groupsWithParents(inventoryJson: string, host: string): string[] {
  const inventory = JSON.parse(inventoryJson) as Record<string, { hosts?: string[]; children?: string[] } | undefined>;
  const found = new Set(Object.entries(inventory).filter(([name, group]) => name !== '_meta' && (group?.hosts ?? []).includes(host)).map(([name]) => name));
  // A group whose child is one of the host's groups is one of its groups (group_vars/ of a parent apply).
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, group] of Object.entries(inventory)) {
      if (name === '_meta' || found.has(name)) continue;
      if ((group?.children ?? []).some((child) => found.has(child))) {
        found.add(name);
        grew = true;
      }
    }
  }
  return [...new Set([...found, 'all'])].sort();
}
