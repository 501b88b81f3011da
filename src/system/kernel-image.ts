// The version of a Linux kernel, read from the kernel image itself: an x86
// bzImage carries "HdrS" at 0x202 and, at 0x20E, the offset (minus 0x200) of
// a text such as "6.1.0-28-amd64 (debian-kernel@lists.debian.org) #1 ...".
import { lstatSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { isKernelVersion } from './kernel-version.js';
import { regularFileInTree, resolveInTree } from './tree-path.js';

export async function readKernelVersion(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(0x210);
    await handle.read(header, 0, header.length, 0);
    if (header.toString('latin1', 0x202, 0x206) !== 'HdrS') throw new VaubanError(`${file} is not an x86 kernel image (no HdrS header)`);
    const offset = header.readUInt16LE(0x20e) + 0x200;
    const text = Buffer.alloc(256);
    await handle.read(text, 0, text.length, offset);
    const version = text.toString('latin1').split(/[\s\0]/)[0] ?? '';
    // It names files on the PXE servers (linux/vmlinuz-<version>) and dracut's module folder: a version, nothing else.
    if (!isKernelVersion(version)) throw new VaubanError(`cannot read the kernel version of ${file}: ${JSON.stringify(version.slice(0, 80))} is not one`);
    return version;
  } finally {
    await handle.close();
  }
}

/**
 * The newest kernel of a root file system: its /boot/vmlinuz-* with the
 * highest version, and that version. Paths are resolved inside the tree: a
 * link in /boot never leads to a file of the build host (chroot_dracut copies
 * the kernel out).
 */
export async function findNewestKernel(root: string): Promise<{ file: string; version: string } | undefined> {
  const boot = resolveInTree(root, 'boot', { followFinal: true });
  let names: string[];
  try {
    names = lstatSync(boot).isDirectory() ? readdirSync(boot).filter((name) => name.startsWith('vmlinuz')) : [];
  } catch {
    return undefined;
  }
  const files = names.map((name) => regularFileInTree(root, path.posix.join('boot', name))).filter((file): file is string => file !== undefined);
  const kernels = await Promise.all([...new Set(files)].map(async (file) => ({ file, version: await readKernelVersion(file) })));
  kernels.sort((a, b) => compareVersions(a.version, b.version));
  return kernels.at(-1);
}

/** Orders kernel versions numerically, part by part (6.1.0-28 < 6.1.0-100). */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.split(/[.\-+~]/).map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  const left = parts(a);
  const right = parts(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = left[i];
    const y = right[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x).localeCompare(String(y));
  }
  return 0;
}
