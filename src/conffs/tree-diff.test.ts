import { describe, expect, it } from 'vitest';
import { baselineFromListing, baselineOf, parseChanged, treeChanges } from './tree-diff.js';

const base = baselineOf(['etc', 'etc/issue', 'etc/issue.net', 'etc/skel', 'etc/skel/.bashrc', 'etc/skel/.profile', 'etc/hostname', 'run', 'tmp', 'usr', 'usr/bin', 'usr/bin/env']);
const changed = (...lines: string[]) => parseChanged(lines);
const sorted = (list: Array<{ path: string; kind: string }>) => [...list].sort((a, b) => a.path.localeCompare(b.path));

describe('treeChanges', () => {
  it('tells added from modified files, and leaves the root itself out', () => {
    const changes = treeChanges(base, changed('64 d ', '64 d etc', '64 f etc/issue', '64 f etc/new'), '64', new Set(['etc', 'etc/issue', 'etc/issue.net', 'etc/skel', 'etc/hostname', 'etc/new', 'run', 'tmp', 'usr']));
    expect(sorted(changes)).toEqual([
      { path: 'etc', kind: 'modified' },
      { path: 'etc/issue', kind: 'modified' },
      { path: 'etc/new', kind: 'added' },
    ]);
  });

  it('finds a deleted file in its changed folder', () => {
    const changes = treeChanges(base, changed('64 d etc'), '64', new Set(['etc/issue', 'etc/skel', 'etc/hostname']));
    expect(changes).toContainEqual({ path: 'etc/issue.net', kind: 'deleted' });
    expect(changes.filter((one) => one.kind === 'deleted')).toHaveLength(1);
  });

  it('reports a deleted folder once, not its content', () => {
    const changes = treeChanges(base, changed('64 d etc'), '64', new Set(['etc/issue', 'etc/issue.net', 'etc/hostname']));
    expect(changes.filter((one) => one.kind === 'deleted')).toEqual([{ path: 'etc/skel', kind: 'deleted' }]);
  });

  it('a folder replaced by a file lost its entries; a folder made anew keeps what is in it again', () => {
    const replaced = treeChanges(base, changed('64 d etc', '64 f etc/skel'), '64', new Set(['etc/issue', 'etc/issue.net', 'etc/skel', 'etc/hostname']));
    expect(sorted(replaced.filter((one) => one.kind === 'deleted'))).toEqual([
      { path: 'etc/skel/.bashrc', kind: 'deleted' },
      { path: 'etc/skel/.profile', kind: 'deleted' },
    ]);
    const remade = treeChanges(base, changed('64 d etc', '64 d etc/skel'), '64', new Set(['etc/issue', 'etc/issue.net', 'etc/skel', 'etc/hostname', 'etc/skel/.profile']));
    expect(remade.filter((one) => one.kind === 'deleted')).toEqual([{ path: 'etc/skel/.bashrc', kind: 'deleted' }]);
  });

  it('ignores mount points (another device) and the files the engine bind-mounts', () => {
    const changes = treeChanges(base, changed('70 d tmp', '71 d run', '64 f etc/hostname'), '64', new Set(['tmp/x']));
    expect(changes).toEqual([]);
  });

  it('parses paths holding spaces', () => {
    expect(parseChanged(['64 f etc/a b c'])).toEqual([{ device: '64', type: 'f', path: 'etc/a b c' }]);
  });

  it('a listing keeps the paths of the root\'s device only (mount points are listed with their own)', () => {
    const tree = baselineFromListing(['64', '64 etc', '64 etc/a b', '70 run', '64 usr']);
    expect([...tree.paths]).toEqual(['etc', 'etc/a b', 'usr']);
    expect(tree.entries.get('')).toEqual(['etc', 'usr']);
    expect(tree.entries.get('etc')).toEqual(['etc/a b']);
  });
});
