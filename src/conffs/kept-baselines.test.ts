import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keepBaseline, keptBaselineFile, readKeptBaseline } from './kept-baselines.js';
import { baselineOf } from './tree-diff.js';

const folders: string[] = [];
const folder = () => {
  const made = mkdtempSync(path.join(tmpdir(), 'vauban-baselines-'));
  folders.push(made);
  return path.join(made, 'baselines');
};
afterEach(() => {
  for (const one of folders.splice(0)) rmSync(one, { recursive: true, force: true });
});

describe('kept baselines (issue 11)', () => {
  it('reads back the tree it kept, paths with spaces and new lines included, under a key of the image and the recipe', async () => {
    const dir = folder();
    const file = keptBaselineFile(dir, 'sha256:aaa', 'recipe 1');
    expect(keptBaselineFile(dir, 'sha256:aaa', 'recipe 2')).not.toBe(file);
    expect(keptBaselineFile(dir, 'sha256:bbb', 'recipe 1')).not.toBe(file);
    expect(await readKeptBaseline(file)).toBeUndefined();
    const paths = ['etc', 'etc/a file', 'etc/new\nline', 'usr'];
    keepBaseline(file, baselineOf(paths));
    const read = await readKeptBaseline(file);
    expect([...(read?.paths ?? [])]).toEqual(paths);
    expect(read?.entries.get('etc')).toEqual(['etc/a file', 'etc/new\nline']);
    keepBaseline(file, baselineOf([]));
    expect((await readKeptBaseline(file))?.paths.size).toBe(0);
  });

  it('a file that does not read back whole is no baseline', async () => {
    const dir = folder();
    const file = keptBaselineFile(dir, 'sha256:aaa', 'recipe');
    keepBaseline(file, baselineOf(['etc', 'usr']));
    writeFileSync(file, readFileSync(file).subarray(0, 20));
    expect(await readKeptBaseline(file)).toBeUndefined();
  });

  it('keeps the 8 most recently used', async () => {
    const dir = folder();
    const files = Array.from({ length: 10 }, (_, index) => keptBaselineFile(dir, `sha256:${index}`, 'recipe'));
    const names = (indexes: number[]) => indexes.map((index) => path.basename(files[index] as string)).sort();
    files.forEach((file, index) => {
      keepBaseline(file, baselineOf(['etc']));
      const when = new Date(Date.now() - (100 - index) * 1000);
      utimesSync(file, when, when);
    });
    expect(readdirSync(dir).sort()).toEqual(names([2, 3, 4, 5, 6, 7, 8, 9]));
    // Read, the oldest becomes the most recently used: the next oldest goes at the next write.
    expect(await readKeptBaseline(files[2] as string)).toBeDefined();
    keepBaseline(files[0] as string, baselineOf(['etc']));
    expect(readdirSync(dir).sort()).toEqual(names([0, 2, 4, 5, 6, 7, 8, 9]));
  });
});
