import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keepInventory, keptInventoryFile, readKeptInventory } from './kept-inventories.js';

let folder = '';
afterEach(() => rmSync(folder, { recursive: true, force: true }));

describe('the inventories stages read, kept between runs', () => {
  const key = { imageId: 'sha256:aa', commit: 'c1', hostname: 'master-web', settings: ['', ''] };

  it('a listing is found again under the same image, commit, hostname and settings only', () => {
    folder = mkdtempSync(path.join(tmpdir(), 'vauban-inventories-test-'));
    keepInventory(keptInventoryFile(folder, key), '{"_meta":{}}');
    expect(readKeptInventory(keptInventoryFile(folder, key))).toBe('{"_meta":{}}');
    for (const other of [{ ...key, imageId: 'sha256:bb' }, { ...key, commit: 'c2' }, { ...key, hostname: undefined }, { ...key, settings: ['sub', ''] }]) {
      expect(readKeptInventory(keptInventoryFile(folder, other))).toBeUndefined();
    }
  });

  it('a file that is not JSON (cut by a crash) is listed again; the least recently used beyond 32 are removed', () => {
    folder = mkdtempSync(path.join(tmpdir(), 'vauban-inventories-test-'));
    writeFileSync(keptInventoryFile(folder, key), '{"_meta":');
    expect(readKeptInventory(keptInventoryFile(folder, key))).toBeUndefined();
    for (let index = 0; index < 40; index++) keepInventory(keptInventoryFile(folder, { ...key, commit: `c${index}` }), '{}');
    expect(readdirSync(folder).filter((name) => name.endsWith('.json')).length).toBe(32);
  });
});
