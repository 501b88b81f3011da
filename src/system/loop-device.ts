// Loop devices: attached by this run, with their release registered at once,
// and detached one by one. vauban.sh ran `losetup -D`, detaching every loop
// device of the machine; we only ever detach the ones we attached.
import { VaubanError } from '../errors.js';
import type { CleanupStack } from './cleanup.js';
import { run, type RunOptions } from './run.js';

export interface AttachLoopOptions {
  file: string;
  /** Byte offset and size of the region to expose (a partition), else the whole file. */
  offset?: number;
  size?: number;
  readOnly: boolean;
}

/**
 * Attaches a loop device (e.g. /dev/loop3) and registers its detach; returns
 * the device path. losetup is never interrupted: killed after the kernel
 * attached the device but before it printed the name, it would leak a device
 * no one knows about.
 */
export async function attachLoopDevice(options: AttachLoopOptions, cleanup: CleanupStack, runOptions: RunOptions = {}): Promise<string> {
  const args = ['--find', '--show'];
  if (options.readOnly) args.push('--read-only');
  // A device at the partition's own offset needs no partition nodes (/dev/loopNp1),
  // which this kernel does not create by itself.
  if (options.offset !== undefined) args.push('--offset', String(options.offset));
  if (options.size !== undefined) args.push('--sizelimit', String(options.size));
  args.push(options.file);
  const { stdout } = await run('losetup', args, { ...runOptions, signal: undefined });
  const device = stdout.trim();
  cleanup.push(`loop device ${device}`, () => detachLoopDevice(device, runOptions));
  if (runOptions.signal?.aborted) throw new VaubanError('interrupted', { cause: runOptions.signal.reason, exitCode: 130 });
  return device;
}

async function detachLoopDevice(device: string, runOptions: RunOptions): Promise<void> {
  // A device still busy right after umount (udev probing) frees itself within a second.
  for (let attempt = 0; ; attempt++) {
    const result = await run('losetup', ['--detach', device], { ...runOptions, signal: undefined, allowFailure: true });
    if (result.exitCode === 0) return;
    if (attempt >= 10) throw new Error(`losetup --detach ${device}: ${result.stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
