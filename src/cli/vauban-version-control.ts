// `vauban-version-control -t <tag> -i <image> -m <master>` (A14): re-deploys an
// image already in the registry: pull <image>:<tag>, build its rootfs, upload
// only rootfs.tgz to <master>, and move `deployed` to it.
import { Command } from 'commander';
import { VaubanError } from '../errors.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';

interface Flags {
  tag: string;
  image: string;
  master: string;
  compression?: 'xz' | 'zstd';
  debug: boolean;
}

const versionControl: CommandDefinition<Flags, void, 'session', true> = {
  name: 'vauban-version-control',
  parse: commanderParse(
    () =>
      new Command('vauban-version-control')
        .description('Re-deploy an existing registry image: pull <image>:<tag>, build its rootfs, upload it to <master>, move `deployed` to it')
        .requiredOption('-t, --tag <tag>', 'the tag of the image to deploy (e.g. 2026-11-20T1432)')
        .requiredOption('-i, --image <image>', 'the image, as named under <REGISTRY_HOSTNAME>/vauban/ (e.g. master-12-web)')
        .requiredOption('-m, --master <master>', 'the master folder on the PXE servers to deploy to')
        .option('--compression <xz|zstd>', 'squashfs compression of rootfs.img (default: xz, or SQUASHFS_COMPRESSION)')
        .option('--debug', 'print every command run', false),
    (program) => program.opts<Flags>(),
  ),
  debug: (flags) => flags.debug,
  settings: true,
  prepare: async ({ flags, settings }) => {
    const { assertRequiredSettings } = await import('../config/settings.js');
    assertRequiredSettings(settings, { ansible: false, vault: true, upload: true }, 're-deploy a rootfs');
    if (settings.values.REGISTRY_HOSTNAME === undefined) throw new VaubanError('setting REGISTRY_HOSTNAME is required: the image comes from the registry');
    if (flags.compression !== undefined && flags.compression !== 'xz' && flags.compression !== 'zstd') {
      throw new VaubanError(`--compression '${flags.compression}': expected xz or zstd`);
    }
    const { checkRedeploy } = await import('../version-control.js');
    checkRedeploy(flags);
  },
  needs: 'session',
  work: async ({ io, flags, reporter, settings }, _prepared, session) => {
    const { redeploy } = await import('../version-control.js');
    const { installDir } = await import('../install-dir.js');
    return redeploy({ cwd: io.cwd, settings, reporter, installDir: installDir(), ...flags }, session);
  },
};

export function mainVersionControl(io: CommandIo): Promise<number> {
  return runCommand(versionControl, io);
}
