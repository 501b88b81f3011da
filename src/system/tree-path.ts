// Paths inside an image tree, resolved as a chroot would resolve them. vauban
// runs as root on trees it does not control (an image's layers, a base): a
// plain path.join + fs call follows the image's links, so `etc/ssh -> /root`
// would put the vault's keys into the build host's /root. Here links are
// followed inside the tree only (an absolute target starts again at the tree's
// root, `..` stops there), every folder walked through is checked to be on the
// tree's own file system (never into /proc, /sys or /dev mounted for a
// chroot), and the last component of a write or a deletion is never followed:
// what is there is replaced or removed, not what it points to.
// The model: systemd's chase() and runc's securejoin.
import {
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';

/** Links followed in one resolution before giving up, as the kernel's ELOOP limit. */
const MAX_LINKS = 40;

export interface ResolveOptions {
  /** Follow a link at the last component too (reads); off for writes and deletions. */
  followFinal?: boolean;
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function shown(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}

/**
 * The host path of `inside` (a path as the image sees it, e.g. `/etc/ssh`)
 * within `root`. Every component but the last (and the last too with
 * `followFinal`) is a real folder of the tree, or does not exist yet.
 */
export function resolveInTree(root: string, inside: string, options: ResolveOptions = {}): string {
  const top = path.resolve(root);
  const rootDevice = lstatSync(top).dev;
  const todo = inside.split('/').filter((part) => part !== '' && part !== '.');
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (todo.length > 0) {
    const part = todo.shift() as string;
    if (part === '..') {
      // A chroot's root is its own parent.
      done.pop();
      continue;
    }
    const last = todo.length === 0;
    if (missing || (last && !options.followFinal)) {
      done.push(part);
      continue;
    }
    const here = path.join(top, ...done, part);
    const stat = lstatOrUndefined(here);
    if (stat === undefined) {
      missing = true;
      done.push(part);
      continue;
    }
    if (stat.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new VaubanError(`cannot resolve ${inside} in ${top}: too many links (a loop at ${shown([...done, part])}?)`);
      const target = readlinkSync(here);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((one) => one !== '' && one !== '.'));
      continue;
    }
    if (stat.isDirectory()) {
      if (stat.dev !== rootDevice) {
        throw new VaubanError(`refusing ${inside} in ${top}: ${shown([...done, part])} is another file system mounted in the tree`);
      }
    } else if (!last) {
      throw new VaubanError(`cannot resolve ${inside} in ${top}: ${shown([...done, part])} is not a folder`);
    }
    done.push(part);
  }
  return path.join(top, ...done);
}

/** True when something (a link included) is at `inside`. */
export function existsInTree(root: string, inside: string, options: ResolveOptions = {}): boolean {
  return lstatOrUndefined(resolveInTree(root, inside, options)) !== undefined;
}

/** Reads a regular file of the tree (links followed inside the tree); undefined when there is none. */
export function readFileInTree(root: string, inside: string): Buffer | undefined {
  const file = resolveInTree(root, inside, { followFinal: true });
  const stat = lstatOrUndefined(file);
  if (stat === undefined || !stat.isFile()) return undefined;
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A regular file of the tree by host path (links followed inside the tree), or undefined. */
export function regularFileInTree(root: string, inside: string): string | undefined {
  const file = resolveInTree(root, inside, { followFinal: true });
  return lstatOrUndefined(file)?.isFile() ? file : undefined;
}

/** `mkdir -p` inside the tree (links to folders followed inside it); returns the folder's host path. */
export function makeDirInTree(root: string, inside: string, mode = 0o755): string {
  const top = path.resolve(root);
  const dir = resolveInTree(top, inside, { followFinal: true });
  // The resolved path has no link left: its missing folders are made one by one from the root.
  let here = top;
  for (const part of path.relative(top, dir).split(path.sep).filter(Boolean)) {
    here = path.join(here, part);
    const stat = lstatOrUndefined(here);
    if (stat?.isDirectory()) continue;
    if (stat !== undefined) throw new VaubanError(`cannot make the folder ${inside} in ${top}: /${path.relative(top, here)} is not a folder`);
    mkdirSync(here, { mode });
    // The umask must not make a folder of the image private.
    const fd = openSync(here, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
  }
  return dir;
}

/** Removes what is at `inside` (a folder with its content; a link, never what it points to). */
export function removeInTree(root: string, inside: string): void {
  const target = resolveInTree(root, inside);
  if (target === path.resolve(root)) throw new VaubanError(`refusing to remove the root of ${root}`);
  rmSync(target, { recursive: true, force: true });
}

export interface WriteInTreeOptions {
  /** Set as is, whatever the umask. */
  mode: number;
}

/**
 * Writes a file at `inside`, replacing whatever was there (a link is
 * replaced, not written through); its folder is made inside the tree.
 */
export function writeFileInTree(root: string, inside: string, data: string | Uint8Array, options: WriteInTreeOptions): string {
  const file = prepareEntry(root, inside);
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
    fchmodSync(fd, options.mode);
  } finally {
    closeSync(fd);
  }
  return file;
}

/** Makes a symbolic link at `inside`, replacing whatever was there. */
export function symlinkInTree(root: string, inside: string, target: string): void {
  symlinkSync(target, prepareEntry(root, inside));
}

/** The host path of `inside`, its folder made, nothing left at its name (a folder there is an error). */
function prepareEntry(root: string, inside: string): string {
  const parent = path.posix.dirname(path.posix.join('/', inside));
  const dir = makeDirInTree(root, parent);
  const file = path.join(dir, path.posix.basename(path.posix.join('/', inside)));
  const stat = lstatOrUndefined(file);
  if (stat?.isDirectory()) throw new VaubanError(`cannot write ${inside} in ${root}: a folder is there`);
  if (stat !== undefined) rmSync(file);
  return file;
}

/**
 * Copies the content of the folder `source` (outside the tree, or a real
 * folder of it) onto `inside` in the tree, as `cp -a` run in a chroot would:
 * folders merged (a link to a folder of the tree is followed inside it),
 * files and links replaced, links copied as links, owners and modes kept.
 */
export function copyIntoTree(source: string, root: string, inside = '/'): void {
  for (const name of readdirSync(source)) {
    const from = path.join(source, name);
    const to = path.posix.join(inside, name);
    const stat = lstatSync(from);
    if (stat.isDirectory()) {
      const dir = resolveInTree(root, to, { followFinal: true });
      const there = lstatOrUndefined(dir);
      if (there !== undefined && !there.isDirectory()) rmSync(dir);
      if (!there?.isDirectory()) {
        makeDirInTree(root, to, stat.mode & 0o7777);
        lchownSync(dir, stat.uid, stat.gid);
      }
      copyIntoTree(from, root, to);
    } else if (stat.isSymbolicLink()) {
      symlinkInTree(root, to, readlinkSync(from));
      lchownSync(resolveInTree(root, to), stat.uid, stat.gid);
    } else if (stat.isFile()) {
      const file = prepareEntry(root, to);
      copyFileSync(from, file, constants.COPYFILE_EXCL);
      lchownSync(file, stat.uid, stat.gid);
      const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        // After the chown, which clears set-uid bits.
        fchmodSync(fd, stat.mode & 0o7777);
      } finally {
        closeSync(fd);
      }
    } else {
      throw new VaubanError(`${from} is a device, pipe or socket: only files, folders and links can be copied into ${root}`);
    }
  }
}
