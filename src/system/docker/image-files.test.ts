import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyWhiteouts } from './image-files.js';

let tree: string;
let outside: string;

beforeEach(() => {
  const top = mkdtempSync(path.join(os.tmpdir(), 'vauban-whiteouts-'));
  tree = path.join(top, 'tree');
  outside = path.join(top, 'outside');
  mkdirSync(path.join(tree, 'etc', 'app'), { recursive: true });
  mkdirSync(path.join(tree, 'var', 'lib', 'old'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(tree, 'etc', 'app', 'a.conf'), 'a');
  writeFileSync(path.join(tree, 'etc', 'app', 'b.conf'), 'b');
  writeFileSync(path.join(tree, 'etc', 'gone'), 'x');
  writeFileSync(path.join(tree, 'var', 'lib', 'old', 'data'), 'd');
  writeFileSync(path.join(outside, 'precious'), 'p');
  // A link of the image that points out of it: a whiteout through it must not reach the build host.
  symlinkSync(outside, path.join(tree, 'escape'));
});

afterEach(() => rmSync(path.dirname(tree), { recursive: true, force: true }));

describe('applyWhiteouts: what a layer of docker save removes of the layers below (issue 29)', () => {
  it('.wh.<name> removes that name; .wh..wh..opq empties its folder; other names are left to the extraction', () => {
    applyWhiteouts(tree, ['./etc/', './etc/.wh.gone', 'etc/app/.wh..wh..opq', 'etc/app/new.conf', 'var/lib/.wh.old']);
    expect(existsSync(path.join(tree, 'etc', 'gone'))).toBe(false);
    expect(readdirSync(path.join(tree, 'etc', 'app'))).toEqual([]);
    expect(existsSync(path.join(tree, 'var', 'lib', 'old'))).toBe(false);
    expect(existsSync(path.join(tree, 'var', 'lib'))).toBe(true);
  });

  it('never follows a link of the image out of the tree: the link itself goes, not what it points to', () => {
    applyWhiteouts(tree, ['escape/.wh.precious', 'escape/.wh..wh..opq']);
    expect(existsSync(path.join(outside, 'precious'))).toBe(true);
    applyWhiteouts(tree, ['.wh.escape']);
    expect(existsSync(path.join(tree, 'escape'))).toBe(false);
    expect(existsSync(path.join(outside, 'precious'))).toBe(true);
  });

  it('a whiteout of something the layers below never had is nothing', () => {
    expect(() => applyWhiteouts(tree, ['usr/.wh.nothing', 'opt/none/.wh..wh..opq'])).not.toThrow();
  });
});
