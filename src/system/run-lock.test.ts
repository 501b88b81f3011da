// The run lock with the real flock(1): no root, no Docker, a temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CleanupStack } from './cleanup.js';
import { acquireRunLock, LOCK_FILE, type LockHolder } from './run-lock.js';

let cwd: string;
let holders: ChildProcess[];
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'vauban-lock-'));
  holders = [];
});
afterEach(() => {
  for (const holder of holders) holder.kill('SIGKILL');
  rmSync(cwd, { recursive: true, force: true });
});

const file = () => path.join(cwd, LOCK_FILE);

function acquire(cleanup: CleanupStack, signal = new AbortController().signal, onWait: (holder: LockHolder | undefined) => void = () => undefined) {
  return acquireRunLock({ cwd, command: 'vauban test', cleanup, signal, onWait });
}

/** Another process holding the lock with flock(1), as a second vauban would. */
async function foreignHolder(): Promise<ChildProcess> {
  const child = spawn('flock', ['--exclusive', '--no-fork', file(), 'sleep', '60'], { stdio: 'ignore' });
  holders.push(child);
  // flock(1) has the lock once the file exists and `sleep` runs under it.
  for (let i = 0; i < 100 && !existsSync(file()); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 200));
  return child;
}

describe('the run lock (issue 13, item 11)', () => {
  for (const [kind, content] of [
    ['empty', ''],
    ['garbled', '{"pid": 12'],
    ['naming a live pid (pid reuse)', JSON.stringify({ pid: 1, started: '2020-01-01T00:00:00Z', command: 'vauban' })],
  ] as const) {
    it(`takes a lock file that is ${kind} at once, names itself in it, removes it at the end`, async () => {
      writeFileSync(file(), content);
      const cleanup = new CleanupStack();
      const started = Date.now();
      await acquire(cleanup);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(JSON.parse(readFileSync(file(), 'utf8'))).toMatchObject({ pid: process.pid, command: 'vauban test' });
      await cleanup.unwind(() => undefined);
      expect(existsSync(file())).toBe(false);
    });
  }

  it('waits while another process holds it, saying so once, and takes it when that process ends', async () => {
    const holder = await foreignHolder();
    const told: Array<LockHolder | undefined> = [];
    const cleanup = new CleanupStack();
    let acquired = false;
    const waiting = acquire(cleanup, undefined, (one) => told.push(one)).then(() => (acquired = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(acquired).toBe(false);
    expect(told).toEqual([undefined]);
    holder.kill('SIGKILL');
    await waiting;
    expect(acquired).toBe(true);
    await cleanup.unwind(() => undefined);
  });

  it('names the vauban run it waits for', async () => {
    const first = new CleanupStack();
    await acquire(first);
    const told: Array<LockHolder | undefined> = [];
    const second = new CleanupStack();
    const waiting = acquire(second, undefined, (one) => told.push(one));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(told).toEqual([expect.objectContaining({ pid: process.pid, command: 'vauban test' })]);
    await first.unwind(() => undefined);
    await waiting;
    await second.unwind(() => undefined);
  });

  it('gives it to one waiter at a time', async () => {
    const holder = await foreignHolder();
    const stacks = [new CleanupStack(), new CleanupStack()];
    const order: number[] = [];
    const waiters = stacks.map((stack, index) => acquire(stack).then(() => order.push(index)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    holder.kill('SIGKILL');
    await Promise.race(waiters);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(order).toHaveLength(1);
    await stacks[order[0] as number]?.unwind(() => undefined);
    await Promise.all(waiters);
    expect(order).toHaveLength(2);
    await stacks[order[1] as number]?.unwind(() => undefined);
  });

  it('stops waiting when the run is interrupted', async () => {
    await foreignHolder();
    const controller = new AbortController();
    const waiting = acquire(new CleanupStack(), controller.signal);
    setTimeout(() => controller.abort(), 200);
    await expect(waiting).rejects.toThrow(/interrupted while waiting for another run/);
  });
});
