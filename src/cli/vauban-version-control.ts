// `vauban-version-control -t <tag> -i <image> -m <master>` (A14): re-deploys
// an existing registry image as a master's rootfs.
import { Command, CommanderError } from 'commander';
import { VaubanError } from '../errors.js';
import { describeFailure } from './fail.js';
import type { MainIo } from './vauban.js';

export async function mainVersionControl(io: MainIo): Promise<number> {
  const program = new Command('vauban-version-control')
    .description('Re-deploy an existing registry image: pull <image>:<tag>, build its rootfs, upload it to <master>, move `deployed` to it')
    .requiredOption('-t, --tag <tag>', 'the tag of the image to deploy (e.g. 2026-11-20T1432)')
    .requiredOption('-i, --image <image>', 'the image, as named in the registry under vauban/')
    .requiredOption('-m, --master <master>', 'the master folder on the PXE servers to deploy to')
    .helpOption('-h, --help', 'prints help')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });
  try {
    program.parse([...io.argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  const failure = describeFailure(
    new VaubanError('vauban-version-control is not implemented yet in this version of vauban'),
    false,
  );
  io.stderr.write(`${failure.text}\n`);
  return failure.exitCode;
}
