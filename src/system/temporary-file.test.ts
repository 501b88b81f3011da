import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CleanupStack } from './cleanup.js';
import { temporaryFileFor } from './temporary-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vauban-tmpfile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('temporary outputs (issue 13, item 8)', () => {
  it('are removed by the cleanup when the run ends before the rename', async () => {
    const cleanup = new CleanupStack();
    const temporary = temporaryFileFor(path.join(dir, 'rootfs.tgz'), 'run1', cleanup);
    writeFileSync(temporary.path, 'half a tarball');
    await cleanup.unwind(() => undefined);
    expect(existsSync(temporary.path)).toBe(false);
    expect(existsSync(path.join(dir, 'rootfs.tgz'))).toBe(false);
  });

  it('become the output on commit, which the cleanup then leaves alone', async () => {
    const cleanup = new CleanupStack();
    const temporary = temporaryFileFor(path.join(dir, 'rootfs.tgz'), 'run1', cleanup);
    writeFileSync(temporary.path, 'whole');
    await temporary.commit();
    await cleanup.unwind(() => undefined);
    expect(readFileSync(path.join(dir, 'rootfs.tgz'), 'utf8')).toBe('whole');
    expect(cleanup.size).toBe(0);
  });
});
