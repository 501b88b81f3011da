import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyIntoTree, existsInTree, makeDirInTree, readFileInTree, removeInTree, resolveInTree, symlinkInTree, writeFileInTree } from './tree-path.js';

let base: string;
let tree: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), 'vauban-tree-path-'));
  tree = path.join(base, 'tree');
  outside = path.join(base, 'outside');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  mkdirSync(path.join(tree, 'usr/lib'), { recursive: true });
  mkdirSync(outside);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('resolveInTree: as a chroot resolves', () => {
  it('keeps a plain path as it is', () => {
    expect(resolveInTree(tree, '/etc/ssh')).toBe(path.join(tree, 'etc/ssh'));
    expect(resolveInTree(tree, 'etc/./ssh/')).toBe(path.join(tree, 'etc/ssh'));
  });

  it('starts an absolute link again at the root of the tree', () => {
    symlinkSync(outside, path.join(tree, 'etc/ssh'));
    expect(resolveInTree(tree, 'etc/ssh/key')).toBe(path.join(tree, outside, 'key'));
  });

  it('stops `..` at the root of the tree, in a path and in a link', () => {
    expect(resolveInTree(tree, '../../../etc/passwd')).toBe(path.join(tree, 'etc/passwd'));
    symlinkSync('../../../../../outside', path.join(tree, 'etc/ssh'));
    expect(resolveInTree(tree, 'etc/ssh/key')).toBe(path.join(tree, 'outside/key'));
  });

  it('follows links that stay inside (merged /usr) and chains of links', () => {
    symlinkSync('usr/lib', path.join(tree, 'lib'));
    symlinkSync('/lib', path.join(tree, 'etc/l1'));
    symlinkSync('l1/', path.join(tree, 'etc/l2'));
    expect(resolveInTree(tree, 'etc/l2/systemd')).toBe(path.join(tree, 'usr/lib/systemd'));
  });

  it('leaves the last link alone unless asked to follow it', () => {
    symlinkSync('/usr/lib', path.join(tree, 'lib'));
    expect(resolveInTree(tree, 'lib')).toBe(path.join(tree, 'lib'));
    expect(resolveInTree(tree, 'lib', { followFinal: true })).toBe(path.join(tree, 'usr/lib'));
  });

  it('refuses a loop of links, naming it', () => {
    symlinkSync('b', path.join(tree, 'etc/a'));
    symlinkSync('a', path.join(tree, 'etc/b'));
    expect(() => resolveInTree(tree, 'etc/a/x')).toThrow(/too many links \(a loop at \/etc\/[ab]\?\)/);
  });

  it('refuses a file used as a folder', () => {
    writeFileSync(path.join(tree, 'etc/hosts'), '');
    expect(() => resolveInTree(tree, 'etc/hosts/x')).toThrow(/\/etc\/hosts is not a folder/);
  });

  it('refuses to walk into another file system mounted in the tree', () => {
    // / and /proc are always two file systems.
    expect(() => resolveInTree('/', 'proc/self/environ')).toThrow(/\/proc is another file system mounted in the tree/);
  });
});

describe('writes and deletions inside a tree', () => {
  it('writeFileInTree replaces a link at the name instead of writing through it, with the mode asked', () => {
    writeFileSync(path.join(outside, 'victim'), 'host\n');
    symlinkSync(path.join(outside, 'victim'), path.join(tree, 'etc/motd'));
    process.umask(0o077);
    try {
      writeFileInTree(tree, 'etc/motd', 'image\n', { mode: 0o644 });
    } finally {
      process.umask(0o022);
    }
    expect(readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('host\n');
    expect(lstatSync(path.join(tree, 'etc/motd')).isFile()).toBe(true);
    expect(statSync(path.join(tree, 'etc/motd')).mode & 0o777).toBe(0o644);
  });

  it('makeDirInTree makes the folders where the links say, inside the tree, with their mode despite the umask', () => {
    symlinkSync('/srv/data', path.join(tree, 'etc/ssh'));
    process.umask(0o077);
    try {
      expect(makeDirInTree(tree, 'etc/ssh/sub')).toBe(path.join(tree, 'srv/data/sub'));
    } finally {
      process.umask(0o022);
    }
    expect(statSync(path.join(tree, 'srv')).mode & 0o777).toBe(0o755);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('removeInTree removes a link, never what it points to, and never the root', () => {
    mkdirSync(path.join(outside, 'ansible'));
    writeFileSync(path.join(outside, 'ansible/keep'), '');
    symlinkSync(outside, path.join(tree, 'root'));
    removeInTree(tree, 'root/ansible');
    removeInTree(tree, 'root');
    expect(readdirSync(path.join(outside, 'ansible'))).toEqual(['keep']);
    expect(existsInTree(tree, 'root')).toBe(false);
    expect(() => removeInTree(tree, '/..')).toThrow(/refusing to remove the root/);
  });

  it('symlinkInTree replaces what is there', () => {
    writeFileSync(path.join(tree, 'etc/resolv.conf'), 'nameserver 1.1.1.1\n');
    symlinkInTree(tree, 'etc/resolv.conf', '../run/resolvconf/resolv.conf');
    expect(readlinkSync(path.join(tree, 'etc/resolv.conf'))).toBe('../run/resolvconf/resolv.conf');
  });

  it('readFileInTree follows links inside the tree only', () => {
    writeFileSync(path.join(outside, 'shadow'), 'host secret\n');
    symlinkSync(path.join(outside, 'shadow'), path.join(tree, 'etc/shadow'));
    expect(readFileInTree(tree, 'etc/shadow')).toBeUndefined();
    writeFileSync(path.join(tree, 'usr/lib/os-release'), 'ID=debian\n');
    symlinkSync('../usr/lib/os-release', path.join(tree, 'etc/os-release'));
    expect(readFileInTree(tree, 'etc/os-release')?.toString()).toBe('ID=debian\n');
  });

  it('copyIntoTree copies files, folders and links (as links) with their modes, merging into folders', () => {
    const source = path.join(base, 'source');
    mkdirSync(path.join(source, 'etc/cron.d'), { recursive: true });
    writeFileSync(path.join(source, 'etc/cron.d/job'), '* * * * * root true\n', { mode: 0o600 });
    writeFileSync(path.join(source, 'etc/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('/etc/elsewhere', path.join(source, 'etc/link'));
    writeFileSync(path.join(tree, 'etc/existing'), 'kept\n');
    copyIntoTree(source, tree);
    expect(statSync(path.join(tree, 'etc/cron.d/job')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(tree, 'etc/run.sh')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(path.join(tree, 'etc/link'))).toBe('/etc/elsewhere');
    expect(readFileSync(path.join(tree, 'etc/existing'), 'utf8')).toBe('kept\n');
  });

  it('copyIntoTree refuses what it cannot carry (a pipe), naming it', () => {
    const source = path.join(base, 'source');
    mkdirSync(source);
    execFileSync('mkfifo', [path.join(source, 'pipe')]);
    expect(() => copyIntoTree(source, tree)).toThrow(/source\/pipe is a device, pipe or socket/);
  });
});
