import { describe, expect, it } from 'vitest';
import { parseSquashfsProgress } from './squashfs.js';

describe("mksquashfs' progress bar (issue 31)", () => {
  it('reads blocks done, the total and the percentage of a redraw', () => {
    expect(parseSquashfsProgress('[=======================|                                   ] 1234/5678  21%')).toEqual({ done: 1234, total: 5678, percent: 21 });
    expect(parseSquashfsProgress('[===============================================================|] 229/229 100%')).toEqual({ done: 229, total: 229, percent: 100 });
  });

  it('takes no other line for progress', () => {
    expect(parseSquashfsProgress('Creating 4.0 filesystem on /tmp/o.img, block size 131072.')).toBeUndefined();
    expect(parseSquashfsProgress('Parallel mksquashfs: Using 2 processors')).toBeUndefined();
  });
});

describe('makeSquashfs with onProgress (the real mksquashfs)', () => {
  it('reports its progress up to 100 % while it packs, and packs', async () => {
    const { mkdtempSync, rmSync, writeFileSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { randomBytes } = await import('node:crypto');
    const { makeSquashfs } = await import('./squashfs.js');
    const work = mkdtempSync(path.join(tmpdir(), 'vauban-squashfs-'));
    try {
      const source = path.join(work, 'tree');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(source);
      for (let index = 0; index < 8; index++) writeFileSync(path.join(source, `file-${index}`), randomBytes(512 * 1024));
      const seen: Array<{ done: number; total: number; percent: number }> = [];
      await makeSquashfs({ source, output: path.join(work, 'out.img'), compression: 'zstd', onProgress: (progress) => seen.push(progress) });
      expect(statSync(path.join(work, 'out.img')).size).toBeGreaterThan(4 * 1024 * 1024);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.at(-1)).toMatchObject({ percent: 100 });
      expect(seen.every((one) => one.total > 0 && one.done <= one.total)).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
