// What a conffs host's stages changed in its container's root file system,
// from three cheap readings taken inside the container (SPEC A6, B15):
//   - the tree when the host's work began (its baseline): every path of the
//     root file system, taken once per source image and shared by its hosts
//     (their containers start from the same image and boot the same way);
//   - the paths whose ctime is newer than a mark touched when the work began
//     (user space cannot set a ctime back: a preserved mtime hides nothing);
//   - the current entries of the folders among those paths.
// A deletion always moves its folder's ctime, so the folders that changed are
// the only places where a path of the baseline can have gone: no listing of
// the whole tree is needed per host.

/** A change of the container's root file system, relative to /. */
export interface TreeChange {
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

/** The tree of a container when a host's work began. */
export interface Baseline {
  paths: ReadonlySet<string>;
  /** Each folder's entries ('' is /). */
  entries: ReadonlyMap<string, readonly string[]>;
}

/** A changed path as `find -printf '%D %y %P'` prints it: its device, its type letter, its path relative to /. */
export interface ChangedPath {
  device: string;
  type: string;
  path: string;
}

/** Files the engine bind-mounts into a running container: a write there goes to the engine's file, never to the container's layer. */
const ENGINE_MOUNTS = new Set(['etc/hostname', 'etc/hosts', 'etc/resolv.conf']);

function parentOf(file: string): string {
  const slash = file.lastIndexOf('/');
  return slash < 0 ? '' : file.slice(0, slash);
}

/**
 * The tree from a listing of the root file system: its device, then
 * "<device> <path>" records. A mount point (/run, /tmp, /proc...) is listed
 * with its own device, and is no path of the root's file system.
 */
export function baselineFromListing([device, ...records]: readonly string[]): Baseline {
  return baselineOf(
    records.flatMap((record) => {
      const space = record.indexOf(' ');
      return record.slice(0, space) === device ? [record.slice(space + 1)] : [];
    }),
  );
}

export function baselineOf(paths: readonly string[]): Baseline {
  const entries = new Map<string, string[]>();
  for (const one of paths) {
    const parent = parentOf(one);
    const list = entries.get(parent);
    if (list === undefined) entries.set(parent, [one]);
    else list.push(one);
  }
  return { paths: new Set(paths), entries };
}

/** Parses "<device> <type> <path>" records. */
export function parseChanged(records: readonly string[]): ChangedPath[] {
  return records.map((record) => {
    const first = record.indexOf(' ');
    const second = record.indexOf(' ', first + 1);
    return { device: record.slice(0, first), type: record.slice(first + 1, second), path: record.slice(second + 1) };
  });
}

/**
 * The changes of a host's stages. `changed` are the paths newer than the mark
 * ('' is / itself); `rootDevice` tells the root file system from what is
 * mounted on it (a mount point's ctime is its mounted root's: /tmp's moves
 * with every file put there); `current` holds the present entries of the
 * changed folders. A deleted folder is reported once, not with its content.
 */
export function treeChanges(baseline: Baseline, changed: readonly ChangedPath[], rootDevice: string, current: ReadonlySet<string>): TreeChange[] {
  const changes: TreeChange[] = [];
  for (const one of changed) {
    if (one.device !== rootDevice) continue;
    if (one.path !== '' && !ENGINE_MOUNTS.has(one.path)) changes.push({ path: one.path, kind: baseline.paths.has(one.path) ? 'modified' : 'added' });
    const before = baseline.entries.get(one.path);
    if (before === undefined) continue;
    // A folder that is no longer one (a file or a link in its place) lost all its entries.
    for (const entry of before) if (one.type !== 'd' || !current.has(entry)) changes.push({ path: entry, kind: 'deleted' });
  }
  return changes;
}
