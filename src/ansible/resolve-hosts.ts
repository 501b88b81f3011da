// The conffs hosts (A7, issue 13 item 4): the -a pattern resolved against the
// branch's inventory by Ansible itself (groups, globs, `!` exclusions, comma
// lists), in a container of the source image: the Ansible controller of the
// hosts' plays (issue 11), or a container of its own. The inventory can be a
// script or a plugin and ansible.cfg can load any Python: that is the
// repository's code, so it runs where the repository's playbooks run, never
// as root on the build host.
import { createReadStream } from 'node:fs';
import { sha256Hex } from '../cache/inputs.js';
import { imageId } from '../cache/image-cache.js';
import { KEPT_INVENTORIES } from '../model/local-layout.js';
import { hostsOfShard } from '../model/shard.js';
import { keepInventory, keptInventoryFile, readKeptInventory } from './kept-inventories.js';
import type { Context } from '../context.js';
import { assertHostName } from '../model/host-names.js';
import { EXIT, VaubanError, throwIfAborted } from '../errors.js';
import { normalizeMac } from '../pxe/layout.js';
import { SLEEP_UNTIL_TERM, execCapture, putArchive, removeContainer, runContainerName } from '../system/docker/containers.js';
import type { CommandOutput, PlayController, PlayControllers } from './play-controller.js';

export interface ResolvedHosts {
  hosts: string[];
  /** The MAC address the inventory gives a host (vauban_mac), as iPXE spells it, for its boot entry by MAC. */
  macs: Map<string, string>;
  /** sha256 of each host's variables as the inventory gives them (`ansible-inventory --list`): an input of its conffs (issue 12). */
  vars: Map<string, string>;
  /** sha256 of the whole inventory (every host's variables, every group): the input of a conffs whose stages read other hosts. */
  inventory: string;
  /** How many hosts the pattern selects: with --shard, `hosts` is the run's share of them (issue 29). */
  selected: number;
  /** Those hosts, every shard's: a shard's share of a staged release names them, for the promote (issue 29). */
  selectedHosts: string[];
}

/**
 * The hosts of the run's branch inventory matching -a, never the master-*
 * ones, resolved inside `image` by the Ansible controller the hosts' plays
 * will use (the branch's tree exactly, in ANSIBLE_ROOT_DIR): `ansible
 * --list-hosts` for the hosts and `ansible-inventory --list` for their
 * variables, at once, forked from its loaded Ansible. An image whose python3
 * cannot load a controller (no Python, an Ansible of its own virtual
 * environment) has the two commands run as they are, in a container of its own.
 */
export async function resolveHosts(ctx: Context, image: string, controllers: PlayControllers): Promise<ResolvedHosts> {
  const pattern = ctx.options.ansibleHost ?? '';
  // A shard never builds the master (issue 29): it takes the one the master's job pushed, or stops here.
  const shardHint = ctx.options.shard === undefined ? {} : { hint: `a shard builds on the master its own job pushed to the registry (vauban -n ${ctx.options.name} -s <parent> ..., or vauban-ci stage rootfs): run that job first` };
  const here = await ctx.registry.ensureLocal(image, ctx.options.shard !== undefined).catch((error: unknown) => {
    if (ctx.options.shard === undefined || !(error instanceof VaubanError)) throw error;
    throw new VaubanError(error.message, { cause: error.cause, exitCode: EXIT.usage, ...shardHint });
  });
  if (!here) {
    throw new VaubanError(`the source image ${image} does not exist (needed to resolve the hosts '${pattern}')`, { exitCode: EXIT.usage, ...shardHint });
  }
  const failure = (detail: string) => new VaubanError(`ansible could not resolve the host pattern '${pattern}' (branch ${ctx.options.branch}, in ${image}): ${detail}`);
  let controller: PlayController | undefined;
  try {
    controller = await controllers.likely(image, ctx.options.branch);
  } catch (error) {
    throwIfAborted(ctx.signal);
    ctx.reporter.debug(`  no Ansible controller in ${image} (${(error as Error).message}): the hosts are listed by Ansible's commands themselves`);
  }
  const { listing, inventory } = controller === undefined ? await listInContainer(ctx, image, ctx.options.branch, pattern, failure) : await listInController(controller, pattern, failure);
  const hosts = parseListHosts(listing);
  if (hosts.length === 0) {
    throw new VaubanError(`no host of the inventory (branch ${ctx.options.branch}) matches '${pattern}' (master-* hosts are never built)`);
  }
  hosts.forEach(assertHostName);
  const shard = ctx.options.shard;
  const share = shard === undefined ? hosts : hostsOfShard(hosts, shard);
  return { hosts: share, macs: readHostMacs(inventory, share), vars: readHostVarsDigests(inventory, share), inventory: readInventoryDigest(inventory), selected: hosts.length, selectedHosts: hosts };
}

interface Listings {
  /** `ansible --list-hosts` output. */
  listing: string;
  /** `ansible-inventory --list` output. */
  inventory: string;
}

/**
 * `ansible-inventory --list` as a play sees the inventory: with the playbooks'
 * folder (ANSIBLE_ROOT_DIR, where the commands run), so that the group_vars/
 * and host_vars/ beside the playbooks are in each host's variables, as
 * ansible-playbook loads them, and not only those beside the inventory.
 */
const INVENTORY_LIST = ['--list', '--playbook-dir', '.'];

function lastLines(output: CommandOutput): string {
  return [output.stderr, output.stdout].map((buffer) => buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '').slice(-3).join(' / ')).find((text) => text !== '') ?? `exit status ${output.code}`;
}

async function listInController(controller: PlayController, pattern: string, failure: (detail: string) => VaubanError): Promise<Listings> {
  const [listed, dumped] = await Promise.all([controller.runCommand('ansible', [`${pattern},!master-*`, '--list-hosts']), controller.runCommand('ansible-inventory', INVENTORY_LIST)]);
  if (listed.code !== 0) throw failure(lastLines(listed));
  if (dumped.code !== 0) throw failure(lastLines(dumped));
  return { listing: listed.stdout.toString('utf8'), inventory: dumped.stdout.toString('utf8') };
}

/**
 * The inventory of `branch` as a stage played as `hostname` sees it, resolved
 * by Ansible in `image` (`ansible-inventory --list`, JSON): what the stage's
 * variables and groups are read from (issue 28). stage.sh adds the hostname
 * to the `inventory` file or folder (a master is seldom in the inventory, and
 * its host_vars/ and the group_vars/ of all still apply): so does this
 * listing, as a source of its own beside `inventory` (measured: the same
 * variables and groups). Asked once per run, image, branch and hostname; by
 * the branch's controller, or in a container of its own when the image
 * cannot load one. Without a hostname, the inventory as it is.
 */
export function listInventory(ctx: Context, image: string, branch: string, hostname: string | undefined, controllers: PlayControllers): Promise<string> {
  return ctx.once(`inventory:${image}:${branch}:${hostname ?? ''}`, async () => {
    const commit = await ctx.ansible.commit(branch);
    const file = await keptListingFile(ctx, image, commit.sha, hostname);
    // A dry run leaves the project as it found it: it reads a kept listing, and keeps none.
    const kept = readKeptInventory(file, !ctx.options.dryRun);
    if (kept !== undefined) return kept;
    const listing = await listInventoryNow(ctx, image, branch, hostname, controllers);
    if (!ctx.options.dryRun) keepInventory(file, listing);
    return listing;
  });
}

/** The file that keeps the listing of commit `sha` as a stage played as `hostname` in `image` sees it. */
async function keptListingFile(ctx: Context, image: string, sha: string, hostname: string | undefined): Promise<string> {
  const docker = await ctx.docker();
  const values = ctx.settings.values;
  const key = { imageId: await ctx.once(`image-id:${image}`, () => imageId(docker, image)), commit: sha, hostname, settings: [values.ANSIBLE_ROOT_DIR ?? '', values.HOOK_PRE_ANSIBLE ?? ''] };
  return keptInventoryFile(ctx.output(KEPT_INVENTORIES), key);
}

/** The listing an earlier run kept of commit `sha` (as listInventory has it), marked used; undefined when none is kept. */
export async function keptListingOf(ctx: Context, image: string, sha: string, hostname: string): Promise<string | undefined> {
  return readKeptInventory(await keptListingFile(ctx, image, sha, hostname), !ctx.options.dryRun);
}

/** `ansible-inventory --list` of `branch` in `image`, now (listInventory keeps it). */
async function listInventoryNow(ctx: Context, image: string, branch: string, hostname: string | undefined, controllers: PlayControllers): Promise<string> {
  const commit = await ctx.ansible.commit(branch);
  // Without a hostname: the inventory as the hosts' plays see it (they are in it).
  const sources = hostname === undefined ? [] : [...((await ctx.ansible.inRootDir(commit, 'inventory')) ? ['-i', 'inventory'] : []), '-i', `${hostname},`];
  const failure = (detail: string) => new VaubanError(`ansible could not list the inventory (branch ${branch}, in ${image}): ${detail}`);
  // A run without conffs hosts has no other use for a controller (its Ansible loaded, its modules packed): one command in a container costs less.
  let controller: PlayController | undefined;
  if (ctx.runs('build_conffs')) {
    try {
      controller = await controllers.likely(image, branch);
    } catch (error) {
      throwIfAborted(ctx.signal);
      ctx.reporter.debug(`  no Ansible controller in ${image} (${(error as Error).message}): the inventory is listed by ansible-inventory itself`);
    }
  }
  if (controller === undefined) return (await listInContainer(ctx, image, branch, undefined, failure, sources)).inventory;
  const dumped = await controller.runCommand('ansible-inventory', [...INVENTORY_LIST, ...sources]);
  if (dumped.code !== 0) throw failure(lastLines(dumped));
  return dumped.stdout.toString('utf8');
}

const INVENTORY_MARKER = '#vauban-inventory';

// The branch's tree exactly (files deleted since the image's copy gone), then Ansible's two commands in the
// inventory's folder, at once (without a pattern: the inventory alone).
const LIST_HOSTS =
  `git -C /root/ansible clean -ffdxq 2>/dev/null; cd "/root/ansible/\${ANSIBLE_ROOT_DIR:-}" || exit 1; ` +
  'if [ -n "$VAUBAN_PATTERN" ]; then ansible "$VAUBAN_PATTERN" --list-hosts >/tmp/vauban-hosts 2>/tmp/vauban-hosts.err & hosts=$!; else : >/tmp/vauban-hosts; : >/tmp/vauban-hosts.err; true & hosts=$!; fi; ' +
  `ansible-inventory ${INVENTORY_LIST.join(' ')} "$@" >/tmp/vauban-inventory 2>/tmp/vauban-inventory.err & inventory=$!; ` +
  'wait $hosts; listed=$?; wait $inventory; dumped=$?; ' +
  'cat /tmp/vauban-hosts.err >&2; [ $listed -eq 0 ] || { cat /tmp/vauban-hosts; exit $listed; }; ' +
  `cat /tmp/vauban-inventory.err >&2; cat /tmp/vauban-hosts; echo '${INVENTORY_MARKER}'; cat /tmp/vauban-inventory; exit $dumped`;

async function listInContainer(ctx: Context, image: string, branch: string, pattern: string | undefined, failure: (detail: string) => VaubanError, inventorySources: string[] = []): Promise<Listings> {
  const docker = await ctx.docker();
  const archive = await ctx.ansible.archive(branch);
  const container = await docker.createContainer({ Image: image, Entrypoint: [], Cmd: ['/bin/sh', '-c', SLEEP_UNTIL_TERM], name: runContainerName('hosts', ctx.runId) });
  const release = ctx.cleanup.push(`container ${container.id.slice(0, 12)} (host resolution)`, () => removeContainer(docker, container.id));
  try {
    await putArchive(container, createReadStream(archive), '/root');
    await container.start();
    const run = await execCapture(docker, container, {
      cmd: ['/bin/sh', '-c', LIST_HOSTS, 'sh', ...inventorySources],
      env: { VAUBAN_PATTERN: pattern === undefined ? '' : `${pattern},!master-*`, ANSIBLE_ROOT_DIR: ctx.settings.values.ANSIBLE_ROOT_DIR ?? '', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
      signal: ctx.signal,
    });
    const stdout = run.stdout.toString('utf8');
    if (run.code !== 0) throw failure(run.stderr.filter((line) => line.trim() !== '').slice(-3).join(' / ') || stdout.trim().split('\n').slice(-3).join(' / '));
    const [listing = '', inventory = ''] = stdout.split(`${INVENTORY_MARKER}\n`);
    return { listing, inventory };
  } finally {
    await release();
  }
}

/** The vauban_mac of each of `hosts` in `ansible-inventory --list` output; a value that is no MAC address, or one given twice, stops the run. */
export function readHostMacs(inventoryJson: string, hosts: readonly string[]): Map<string, string> {
  let hostvars: Record<string, Record<string, unknown> | undefined>;
  try {
    hostvars = (JSON.parse(inventoryJson) as { _meta?: { hostvars?: typeof hostvars } })._meta?.hostvars ?? {};
  } catch (error) {
    throw new VaubanError(`ansible-inventory --list printed no JSON: ${(error as Error).message}`, { cause: error });
  }
  const macs = new Map<string, string>();
  const owners = new Map<string, string>();
  for (const host of hosts) {
    const value = hostvars[host]?.vauban_mac;
    if (value === undefined || value === null || value === '') continue;
    const mac = typeof value === 'string' ? normalizeMac(value) : undefined;
    if (mac === undefined) throw new VaubanError(`inventory host '${host}': vauban_mac ${JSON.stringify(value)} is not a MAC address (e.g. 52:54:00:12:34:56)`);
    const other = owners.get(mac);
    if (other !== undefined) throw new VaubanError(`inventory hosts '${other}' and '${host}' have the same vauban_mac ${mac}: a MAC address boots one host`);
    owners.set(mac, host);
    macs.set(host, mac);
  }
  return macs;
}

/** The sha256 of each host's variables in `ansible-inventory --list` output (keys sorted: a digest of what they say, not of their order). */
export function readHostVarsDigests(inventoryJson: string, hosts: readonly string[]): Map<string, string> {
  const inventory = JSON.parse(inventoryJson) as Record<string, { hosts?: string[]; children?: string[]; hostvars?: Record<string, unknown> } | undefined>;
  const hostvars = inventory._meta?.hostvars ?? {};
  // A host's groups matter as much as its variables (group_names, groups[...] in templates): its direct groups and the group tree.
  const tree = Object.entries(inventory)
    .filter(([name]) => name !== '_meta')
    .map(([name, group]) => [name, [...(group?.children ?? [])].sort()]);
  const groupsOf = (host: string) => Object.entries(inventory).filter(([name, group]) => name !== '_meta' && (group?.hosts ?? []).includes(host)).map(([name]) => name).sort();
  return new Map(hosts.map((host) => [host, sha256Hex(canonicalJson({ vars: hostvars[host] ?? {}, groups: groupsOf(host), tree }))]));
}

/** The sha256 of the whole `ansible-inventory --list` output, whatever the order of its keys. */
export function readInventoryDigest(inventoryJson: string): string {
  return sha256Hex(canonicalJson(JSON.parse(inventoryJson)));
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Reads `ansible --list-hosts` output: a "hosts (N):" header, then one host per line. */
export function parseListHosts(output: string): string[] {
  const lines = output.split('\n');
  const header = lines.findIndex((line) => /^\s*hosts \(\d+\):\s*$/.test(line));
  if (header === -1) return [];
  return lines
    .slice(header + 1)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('[WARNING]'));
}
