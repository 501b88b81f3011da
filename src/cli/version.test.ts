import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkoutCommit, versionText } from './version.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function packageDir(git?: { head: string; files?: Record<string, string> }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vauban-version-'));
  made.push(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'vauban', version: '1.2.3' }));
  if (git !== undefined) {
    mkdirSync(path.join(dir, '.git', 'refs', 'heads'), { recursive: true });
    writeFileSync(path.join(dir, '.git', 'HEAD'), git.head);
    for (const [file, content] of Object.entries(git.files ?? {})) writeFileSync(path.join(dir, '.git', file), content);
  }
  return dir;
}

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('--version (issue 31)', () => {
  it('says the package version, and the commit in a checkout (loose ref, packed ref, detached)', () => {
    expect(versionText(packageDir())).toBe('vauban 1.2.3');
    expect(versionText(packageDir({ head: 'ref: refs/heads/main\n', files: { 'refs/heads/main': `${SHA}\n` } }))).toBe('vauban 1.2.3 (commit 0123456789ab)');
    expect(checkoutCommit(packageDir({ head: 'ref: refs/heads/main\n', files: { 'packed-refs': `# pack-refs\n${SHA} refs/heads/main\n` } }))).toBe(SHA);
    expect(checkoutCommit(packageDir({ head: `${SHA}\n` }))).toBe(SHA);
    expect(checkoutCommit(packageDir({ head: 'ref: refs/../../../etc/passwd\n' }))).toBeUndefined();
  });
});
