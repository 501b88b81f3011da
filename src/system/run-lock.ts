// One vauban run at a time per working directory: runs there share
// rootfs.tgz, vmlinuz, initramfs.img, overlayfs/ and vault/. A second run
// waits for the first (saying who it waits for); a lock left by a run that
// died is taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { CleanupStack } from './cleanup.js';

export const LOCK_FILE = '.vauban.lock';

interface LockOwner {
  pid: number;
  started: string;
  command: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

export interface RunLockOptions {
  cwd: string;
  command: string;
  cleanup: CleanupStack;
  signal: AbortSignal;
  onWait: (owner: LockOwner) => void;
  pollMs?: number;
}

export async function acquireRunLock(options: RunLockOptions): Promise<void> {
  const file = path.join(options.cwd, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, started: new Date().toISOString(), command: options.command };
  let told = false;
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      options.cleanup.push(`lock ${file}`, async () => {
        if (readOwner(file)?.pid === process.pid) rmSync(file, { force: true });
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new VaubanError(`cannot create ${file}`, { cause: error });
    }
    const owner = readOwner(file);
    if (owner === undefined || !isAlive(owner.pid)) {
      // Left by a run that died (or half-written by one being born: retry shortly).
      if (owner !== undefined) rmSync(file, { force: true });
      await delay(200, options.signal);
      continue;
    }
    if (!told) {
      options.onWait(owner);
      told = true;
    }
    await delay(options.pollMs ?? 1000, options.signal);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new VaubanError('interrupted while waiting for another run', { exitCode: 130 }));
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new VaubanError('interrupted while waiting for another run', { exitCode: 130 }));
      },
      { once: true },
    );
  });
}
