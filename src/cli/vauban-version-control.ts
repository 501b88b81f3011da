// `vauban-version-control -t <tag> -i <image> -m <master>` (A14): re-deploys an
// image already in the registry: pull <image>:<tag>, build its rootfs, upload
// only rootfs.tgz to <master>, and move `deployed` to it.
import { Command } from 'commander';
import { VaubanError } from '../errors.js';
import { createReporter, parseCommand } from './command.js';
import { describeFailure } from './fail.js';
import type { MainIo } from './vauban.js';

interface Flags {
  tag: string;
  image: string;
  master: string;
  compression?: 'xz' | 'zstd';
  debug: boolean;
}

export async function mainVersionControl(io: MainIo): Promise<number> {
  const program = new Command('vauban-version-control')
    .description('Re-deploy an existing registry image: pull <image>:<tag>, build its rootfs, upload it to <master>, move `deployed` to it')
    .requiredOption('-t, --tag <tag>', 'the tag of the image to deploy (e.g. 2026-11-20T1432)')
    .requiredOption('-i, --image <image>', 'the image, as named under <REGISTRY_HOSTNAME>/vauban/ (e.g. master-12-web)')
    .requiredOption('-m, --master <master>', 'the master folder on the PXE servers to deploy to')
    .option('--compression <xz|zstd>', 'squashfs compression of rootfs.img (default: xz, or SQUASHFS_COMPRESSION)')
    .option('--debug', 'print every command run', false);
  const ended = parseCommand(program, io);
  if (ended !== undefined) return ended;
  const flags = program.opts<Flags>();
  const reporter = await createReporter(io, flags.debug);
  try {
    const { loadSettings, assertRequiredSettings } = await import('../config/settings.js');
    const settings = await loadSettings({ env: io.env, cwd: io.cwd });
    reporter.redactAlso(settings.secrets);
    assertRequiredSettings(settings, { ansible: false, vault: true, upload: true }, 're-deploy a rootfs');
    if (settings.values.REGISTRY_HOSTNAME === undefined) throw new VaubanError('setting REGISTRY_HOSTNAME is required: the image comes from the registry');
    if (flags.compression !== undefined && flags.compression !== 'xz' && flags.compression !== 'zstd') {
      throw new VaubanError(`--compression '${flags.compression}': expected xz or zstd`);
    }
    const { redeploy } = await import('../version-control.js');
    return await redeploy({ io, settings, reporter, installDir: (await import('../install-dir.js')).installDir(), ...flags });
  } catch (error) {
    const failure = describeFailure(error, flags.debug);
    io.stderr.write(`${failure.text}\n`);
    return failure.exitCode;
  }
}
