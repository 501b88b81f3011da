// mount_iso (A8, B1, B2): the base as a writable folder. A raw disk image's
// partition 1 or a live ISO's filesystem.squashfs is mounted read-only, with
// a writable overlay on top: the operator's file is never written to, so no
// `-backup` copy is needed (qcow2 and compressed bases are first made raw in
// the work folder: base/prepare-base-file.ts). With --debian-release the base
// is debootstrapped from the mirror instead. Every loop device and mount is
// ours and released by the cleanup stack.
import path from 'node:path';
import { inspectBaseFile } from '../base/inspect-base-file.js';
import { prepareBaseFile } from '../base/prepare-base-file.js';
import type { Context } from '../context.js';
import { VaubanError } from '../errors.js';
import type { StepHandle } from '../reporter.js';
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
  return ctx.reporter.step(`mount_iso: ${path.basename(file)}`, (handle) => mountBaseFile(ctx, file, handle));
}

async function mountBaseFile(ctx: Context, file: string, handle: StepHandle): Promise<MountedBase> {
  const dir = path.join(ctx.workDir, 'base');
  const readOnlyRoot = path.join(dir, 'ro');
  const base = await prepareBaseFile({ workDir: ctx.workDir, runOptions: ctx.runOptions, info: (line) => ctx.reporter.info(line) }, file, await inspectBaseFile(file, ctx.runOptions), handle);
  if (base.kind === 'raw') {
    const partitions = await readPartitionTable(base.file, ctx.runOptions);
    const root = partitions.find((partition) => partition.number === 1);
    if (root === undefined) throw new VaubanError(`${file} has no partition 1 (the ext4 root of a Debian raw image)`);
    const device = await attachLoopDevice({ file: base.file, offset: root.offset, size: root.size, readOnly: true }, ctx.cleanup, ctx.runOptions);
    await mount({ source: device, target: readOnlyRoot, type: 'ext4', options: ['ro', 'noload'] }, ctx.cleanup, ctx.runOptions);
  } else {
    // The squashfs is read in place, through a loop device over its extent of
    // the ISO: no iso9660 driver needed, and no copy of a multi-GB file.
    const { offset, size } = base.squashfs;
    const device = await attachLoopDevice({ file: base.file, offset, size, readOnly: true }, ctx.cleanup, ctx.runOptions);
    await mount({ source: device, target: readOnlyRoot, type: 'squashfs', options: ['ro'] }, ctx.cleanup, ctx.runOptions);
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

