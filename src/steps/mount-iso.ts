// mount_iso (A8, B1, B2): the base as a writable folder. A raw disk image's
// partition 1 or a live ISO's filesystem.squashfs is mounted read-only, with
// a writable overlay on top: the operator's file is never written to, so no
// `-backup` copy is needed. With --debian-release the base is debootstrapped
// from the mirror instead. Every loop device and mount is ours and released
// by the cleanup stack.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { VaubanError } from '../errors.js';
import { detectDiskImage } from '../system/disk-image.js';
import { attachLoopDevice } from '../system/loop-device.js';
import { mount, mountOverlay } from '../system/mount.js';
import { readPartitionTable } from '../system/partition-table.js';
import { run } from '../system/run.js';
import type { MountedBase } from './types.js';

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export async function mountIso(ctx: Context): Promise<MountedBase | undefined> {
  if (!ctx.runs('mount_iso')) return undefined;
  const release = ctx.options.debianRelease;
  if (release !== undefined) {
    return ctx.reporter.step(`mount_iso: debootstrap Debian ${release}`, () => debootstrapBase(ctx, release));
  }
  const file = path.resolve(ctx.cwd, ctx.options.iso ?? '');
  return ctx.reporter.step(`mount_iso: ${path.basename(file)}`, () => mountBaseFile(ctx, file));
}

async function mountBaseFile(ctx: Context, file: string): Promise<MountedBase> {
  const dir = path.join(ctx.workDir, 'base');
  const readOnlyRoot = path.join(dir, 'ro');
  const kind = await detectDiskImage(file);
  if (kind === 'raw') {
    const partitions = await readPartitionTable(file, ctx.runOptions);
    const root = partitions.find((partition) => partition.number === 1);
    if (root === undefined) throw new VaubanError(`${file} has no partition 1 (the ext4 root of a Debian raw image)`);
    const device = await attachLoopDevice({ file, offset: root.offset, size: root.size, readOnly: true }, ctx.cleanup, ctx.runOptions);
    await mount({ source: device, target: readOnlyRoot, type: 'ext4', options: ['ro', 'noload'] }, ctx.cleanup, ctx.runOptions);
  } else if (kind === 'iso') {
    const device = await attachLoopDevice({ file, readOnly: true }, ctx.cleanup, ctx.runOptions);
    const isoDir = path.join(dir, 'iso');
    await mount({ source: device, target: isoDir, type: 'iso9660', options: ['ro'] }, ctx.cleanup, ctx.runOptions);
    const squashfs = findFile(isoDir, 'filesystem.squashfs', 3);
    if (squashfs === undefined) throw new VaubanError(`${file} is an ISO without a filesystem.squashfs: not a live ISO`);
    const squashDevice = await attachLoopDevice({ file: squashfs, readOnly: true }, ctx.cleanup, ctx.runOptions);
    await mount({ source: squashDevice, target: readOnlyRoot, type: 'squashfs', options: ['ro'] }, ctx.cleanup, ctx.runOptions);
  } else {
    throw new VaubanError(`${file} is neither a raw disk image nor an ISO 9660 image`, {
      hint: 'give a Debian raw disk image (debian-12-generic-amd64.raw) or a live ISO with --iso',
    });
  }
  const merged = path.join(dir, 'fs');
  await mountOverlay({ lower: [readOnlyRoot], upper: path.join(dir, 'upper'), work: path.join(dir, 'overlay-work'), target: merged }, ctx.cleanup, ctx.runOptions);
  return { root: merged, origin: path.basename(file) };
}

async function debootstrapBase(ctx: Context, release: string): Promise<MountedBase> {
  const root = path.join(ctx.workDir, 'base', 'fs');
  const mirror = ctx.settings.values.DEBIAN_MIRROR ?? DEFAULT_MIRROR;
  let lines = 0;
  await run('debootstrap', ['--include=ca-certificates,lsb-release,locales', release, root, mirror], {
    ...ctx.runOptions,
    // The base is read by everyone at boot: not the run's private umask.
    umask: 0o022,
    onLine: (line) => {
      lines++;
      if (line.startsWith('I: Retrieving') || line.startsWith('I: Base system')) ctx.reporter.debug(line);
    },
  });
  ctx.reporter.debug(`debootstrap printed ${lines} lines`);
  return { root, origin: `debootstrap-${release}` };
}

/** Finds a regular file by name at most `depth` folders down; links of the ISO are never followed. */
function findFile(dir: string, name: string, depth: number): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name === name && entry.isFile()) return full;
    if (depth > 0 && entry.isDirectory()) {
      const found = findFile(full, name, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}
