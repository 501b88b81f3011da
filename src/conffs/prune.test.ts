import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneConffsFolders } from './prune.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vauban-prune-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('old conffs folders (issue 13, item 8)', () => {
  it('keeps the newest N <time>-overlayfs-<host> folders of each host and nothing else is touched', () => {
    const times = ['2026-01-01T10:00:00Z', '2026-01-02T10:00:00Z', '2026-01-03T10:00:00Z', '2026-01-04T10:00:00Z'];
    for (const time of times) for (const host of ['web01', 'db01']) mkdirSync(path.join(dir, `${time}-overlayfs-${host}`));
    writeFileSync(path.join(dir, `${times[0]}-overlayfs-web01`, 'conffs-web01.tgz'), 'keys');
    mkdirSync(path.join(dir, 'overlayfs-web01'));
    pruneConffsFolders(dir, 2);
    expect(readdirSync(dir).sort()).toEqual([
      '2026-01-03T10:00:00Z-overlayfs-db01',
      '2026-01-03T10:00:00Z-overlayfs-web01',
      '2026-01-04T10:00:00Z-overlayfs-db01',
      '2026-01-04T10:00:00Z-overlayfs-web01',
      'overlayfs-web01',
    ]);
  });

  it('removes a link in their place, never what it points to', () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'vauban-prune-outside-'));
    try {
      writeFileSync(path.join(outside, 'keep'), '');
      symlinkSync(outside, path.join(dir, '2020-01-01T00:00:00Z-overlayfs-web01'));
      mkdirSync(path.join(dir, '2026-01-01T00:00:00Z-overlayfs-web01'));
      pruneConffsFolders(dir, 1);
      expect(readdirSync(outside)).toEqual(['keep']);
      expect(readdirSync(dir)).toEqual(['2026-01-01T00:00:00Z-overlayfs-web01']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('keeps none with 0, and says nothing for a folder that does not exist', () => {
    mkdirSync(path.join(dir, '2026-01-01T00:00:00Z-overlayfs-web01'));
    expect(pruneConffsFolders(dir, 0)).toHaveLength(1);
    expect(pruneConffsFolders(path.join(dir, 'none'), 0)).toEqual([]);
  });
});
