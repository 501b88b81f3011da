import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir, openLogFile } from './log-file.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), 'vauban-log-file-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('the per-host log folder', () => {
  it('is made 0700, and an existing one of ours is made private', () => {
    const dir = ensurePrivateDir(path.join(base, 'var/log/vauban'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    chmodSync(dir, 0o777);
    ensurePrivateDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a link in its place, naming it', () => {
    mkdirSync(path.join(base, 'elsewhere'));
    symlinkSync(path.join(base, 'elsewhere'), path.join(base, 'logs'));
    expect(() => ensurePrivateDir(path.join(base, 'logs'))).toThrow(/the log folder \S+logs is a link: refusing/);
  });
});

describe('a log file', () => {
  it('is 0600, appended to, with the secrets redacted', async () => {
    const file = path.join(ensurePrivateDir(path.join(base, 'logs')), 'web01');
    for (const text of ['first line s3cr3t-pass\n', 'second line\n']) {
      const log = openLogFile(file, { secrets: ['s3cr3t-pass'] });
      log.write(text);
      await log.close();
    }
    expect(readFileSync(file, 'utf8')).toBe('first line ***\nsecond line\n');
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
  });

  it('is never opened through a link planted at its name', () => {
    writeFileSync(path.join(base, 'victim'), 'keep\n');
    symlinkSync(path.join(base, 'victim'), path.join(base, 'web01'));
    expect(() => openLogFile(path.join(base, 'web01'), { secrets: [] })).toThrow(/cannot open the log file \S+web01: it is a link/);
    expect(readFileSync(path.join(base, 'victim'), 'utf8')).toBe('keep\n');
  });
});
