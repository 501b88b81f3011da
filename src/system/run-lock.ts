// One vauban run at a time per working directory: runs there share
// rootfs.tgz, vmlinuz, initramfs.img, overlayfs/ and vault/. The lock is the
// kernel's (flock(2) on .vauban.lock, taken by flock(1) on a descriptor of
// ours): it goes away with the process that holds it, however it ends, so a
// dead run, an empty or garbled lock file or a reused pid can never make the
// next run wait forever, and two waiters never both take it. The file only
// says who holds the lock, for the message of the run that waits.
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { CleanupStack } from './cleanup.js';
import { run } from './run.js';

export const LOCK_FILE = '.vauban.lock';

export interface LockHolder {
  pid: number;
  started: string;
  command: string;
}

export interface RunLockOptions {
  cwd: string;
  command: string;
  cleanup: CleanupStack;
  signal: AbortSignal;
  /** Told once, when the lock is held by another run (its description when the file has one). */
  onWait: (holder: LockHolder | undefined) => void;
}

/** Who the lock file says holds the lock; undefined when it is empty or not ours to read. */
export function readLockHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && typeof holder.started === 'string') return { pid: holder.pid, started: holder.started, command: String(holder.command ?? '') };
  } catch {
    // empty, garbled, or gone: the holder is unknown, the lock is still the kernel's
  }
  return undefined;
}

/** The holder as the waiting run names it. */
export function describeLockHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return `another process (not named in ${LOCK_FILE})`;
  return `another vauban run (pid ${holder.pid}, since ${holder.started}${holder.command ? `: ${holder.command}` : ''})`;
}

/** flock(1) on our descriptor; false when `wait` is off and another holds the lock. */
async function flockFd(fd: number, wait: boolean, signal: AbortSignal): Promise<boolean> {
  const args = ['--exclusive', ...(wait ? [] : ['--nonblock']), '3'];
  const result = await run('flock', args, { passFds: [fd], signal: wait ? signal : undefined, allowFailure: true });
  if (result.exitCode === 0) return true;
  if (signal.aborted) throw new VaubanError('interrupted while waiting for another run', { exitCode: 130 });
  if (!wait && result.exitCode === 1) return false;
  throw new VaubanError(`flock on ${LOCK_FILE} failed (exit status ${result.exitCode}): ${result.stderr.trim()}`);
}

/** True when `fd` is still the file at `file` (the holder before us may have removed it). */
function isCurrent(fd: number, file: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = lstatSync(file);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

export async function acquireRunLock(options: RunLockOptions): Promise<void> {
  const file = path.join(options.cwd, LOCK_FILE);
  let told = false;
  for (;;) {
    let fd: number;
    try {
      // Never through a link: the file is truncated and written once locked.
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (error) {
      throw new VaubanError(`cannot open the lock file ${file}`, { cause: error });
    }
    try {
      if (!fstatSync(fd).isFile()) throw new VaubanError(`${file} is not a regular file: cannot lock this folder`);
      if (!(await flockFd(fd, false, options.signal))) {
        if (!told) options.onWait(readLockHolder(file));
        told = true;
        await flockFd(fd, true, options.signal);
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    // The run before us removes the file as it ends: lock the one now in its place.
    if (!isCurrent(fd, file)) {
      closeSync(fd);
      continue;
    }
    const me: LockHolder = { pid: process.pid, started: new Date().toISOString(), command: options.command };
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify(me)}\n`, 0);
    options.cleanup.push(`lock ${file}`, async () => {
      // Removed while still locked, so no run can lock a file about to disappear unnoticed.
      if (isCurrent(fd, file)) unlinkSync(file);
      closeSync(fd);
    });
    return;
  }
}
