// Item 1 of issue 13: every write and deletion vauban makes inside an image
// tree stays inside that tree, whatever links the image planted. Each case
// plants an absolute link and a relative (`..`) link pointing at a decoy
// folder outside the tree, runs the real function, and checks the decoy.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installHostKeys } from '../vault/vault.js';
import { findNewestKernel } from '../system/kernel-image.js';
import { addComponents } from './bootstrap-fs.js';
import { applyToSlash, cleanTree } from './build-rootfs.js';

let base: string;
let tree: string;
let decoy: string;

beforeEach(() => {
  base = mkdtempSync(path.join(tmpdir(), 'vauban-tree-writes-'));
  tree = path.join(base, 'tree');
  decoy = path.join(base, 'decoy');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  mkdirSync(decoy);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** Every file below `dir`, relative, sorted. */
function listing(dir: string): string[] {
  return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).sort() : [];
}

const KEYS = [
  { name: 'ssh_host_ed25519_key', data: Buffer.from('PRIVATE KEY\n') },
  { name: 'ssh_host_ed25519_key.pub', data: Buffer.from('ssh-ed25519 AAAA host\n') },
];

/** The two kinds of planted links: absolute (resolved against the host's /) and relative (`..` out of the tree). */
const linkKinds = [
  { kind: 'absolute', target: (inside: string) => path.join(decoy, inside) },
  { kind: 'relative ..', target: (inside: string, depth: number) => `${'../'.repeat(depth + 1)}decoy/${inside}` },
] as const;

describe('sshd keys into etc/ssh (vault installHostKeys)', () => {
  for (const { kind, target } of linkKinds) {
    it(`never writes through an ${kind} link at etc/ssh`, () => {
      symlinkSync(target('ssh', 1), path.join(tree, 'etc/ssh'));
      installHostKeys(tree, KEYS);
      expect(listing(decoy)).toEqual([]);
      // Where the booted system will look: /etc/ssh resolved inside the tree.
      const inTree = kind === 'absolute' ? path.join(tree, decoy, 'ssh') : path.join(tree, 'decoy/ssh');
      expect(readdirSync(inTree).sort()).toEqual(['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
    });

    it(`never writes through an ${kind} link at a key's own name`, () => {
      mkdirSync(path.join(tree, 'etc/ssh'));
      symlinkSync(target('stolen', 2), path.join(tree, 'etc/ssh/ssh_host_ed25519_key'));
      installHostKeys(tree, KEYS);
      expect(listing(decoy)).toEqual([]);
      expect(lstatSync(path.join(tree, 'etc/ssh/ssh_host_ed25519_key')).isFile()).toBe(true);
      expect(readFileSync(path.join(tree, 'etc/ssh/ssh_host_ed25519_key'), 'utf8')).toBe('PRIVATE KEY\n');
    });
  }
});

describe('/toslash (applyToSlash)', () => {
  for (const { kind, target } of linkKinds) {
    it(`never copies through an ${kind} link of the tree`, () => {
      mkdirSync(path.join(tree, 'usr/local'), { recursive: true });
      symlinkSync(target('toslash', 2), path.join(tree, 'usr/local/evil'));
      mkdirSync(path.join(tree, 'toslash/usr/local/evil'), { recursive: true });
      writeFileSync(path.join(tree, 'toslash/usr/local/evil/planted.txt'), 'planted\n');
      try {
        applyToSlash(tree);
      } catch {
        // Refusing is as good as following inside the tree; writing outside is not.
      }
      expect(listing(decoy)).toEqual([]);
    });
  }

  it('copies through links that stay in the tree, as on the booted system (merged /usr: /lib -> usr/lib)', () => {
    mkdirSync(path.join(tree, 'usr/lib'), { recursive: true });
    symlinkSync('usr/lib', path.join(tree, 'lib'));
    mkdirSync(path.join(tree, 'toslash/lib/systemd/system'), { recursive: true });
    writeFileSync(path.join(tree, 'toslash/lib/systemd/system/x.service'), '[Unit]\n');
    applyToSlash(tree);
    expect(readFileSync(path.join(tree, 'usr/lib/systemd/system/x.service'), 'utf8')).toBe('[Unit]\n');
    expect(lstatSync(path.join(tree, 'lib')).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(tree, 'toslash'))).toBe(false);
  });

  it('never copies a /toslash that is itself a link out of the tree', () => {
    mkdirSync(path.join(decoy, 'etc'));
    writeFileSync(path.join(decoy, 'etc/shadow'), 'host secret\n');
    symlinkSync(decoy, path.join(tree, 'toslash'));
    try {
      applyToSlash(tree);
    } catch {
      // refused: fine
    }
    expect(existsSync(path.join(tree, 'etc/shadow'))).toBe(false);
    expect(listing(decoy)).toEqual(['etc', 'etc/shadow']);
  });
});

describe('the rootfs cleanup (cleanTree)', () => {
  for (const { kind, target } of linkKinds) {
    it(`never deletes through an ${kind} link (var/cache/apt, root, boot)`, () => {
      for (const dir of ['apt/archives', 'root/ansible', 'root/.ssh', 'boot']) mkdirSync(path.join(decoy, dir), { recursive: true });
      for (const file of ['apt/pkgcache.bin', 'apt/archives/x.deb', 'root/ansible/keep', 'root/.ssh/id_ed25519', 'boot/initrd.img-6.1']) writeFileSync(path.join(decoy, file), 'keep\n');
      const before = listing(decoy);
      mkdirSync(path.join(tree, 'var/cache'), { recursive: true });
      symlinkSync(target('apt', 2), path.join(tree, 'var/cache/apt'));
      symlinkSync(target('root', 0), path.join(tree, 'root'));
      symlinkSync(target('boot', 0), path.join(tree, 'boot'));
      cleanTree(tree);
      expect(listing(decoy)).toEqual(before);
    });

    it(`never writes a default etc/hosts through an ${kind} link`, () => {
      symlinkSync(target('hosts-written', 1), path.join(tree, 'etc/hosts'));
      cleanTree(tree);
      expect(listing(decoy)).toEqual([]);
    });
  }

  it('relinks etc/resolv.conf in the tree, not through a link', () => {
    writeFileSync(path.join(decoy, 'resolv.conf'), 'nameserver 10.0.0.1\n');
    symlinkSync(path.join(decoy, 'resolv.conf'), path.join(tree, 'etc/resolv.conf'));
    cleanTree(tree);
    expect(readFileSync(path.join(decoy, 'resolv.conf'), 'utf8')).toBe('nameserver 10.0.0.1\n');
    expect(readlinkSync(path.join(tree, 'etc/resolv.conf'))).toBe('../run/resolvconf/resolv.conf');
  });
});

describe('bootstrap_fs host-side writes (addComponents)', () => {
  for (const { kind, target } of linkKinds) {
    it(`never rewrites a sources file through an ${kind} link`, () => {
      writeFileSync(path.join(decoy, 'sources.list'), 'deb http://deb.debian.org/debian bookworm main\n');
      mkdirSync(path.join(tree, 'etc/apt'), { recursive: true });
      writeFileSync(path.join(tree, 'etc/debian_version'), '12.8\n');
      symlinkSync(target('sources.list', 2), path.join(tree, 'etc/apt/sources.list'));
      addComponents(tree);
      expect(readFileSync(path.join(decoy, 'sources.list'), 'utf8')).toBe('deb http://deb.debian.org/debian bookworm main\n');
    });
  }
});

describe('kernel of a tree (findNewestKernel, whose file chroot_dracut copies out)', () => {
  for (const { kind, target } of linkKinds) {
    it(`never reads a host file through an ${kind} link in boot/`, async () => {
      // A file that looks like a kernel, on the host.
      const fake = Buffer.alloc(0x400);
      fake.write('HdrS', 0x202, 'latin1');
      fake.writeUInt16LE(0x100, 0x20e);
      fake.write('9.9.9-host-secret ', 0x300, 'latin1');
      writeFileSync(path.join(decoy, 'secret'), fake);
      mkdirSync(path.join(tree, 'boot'));
      symlinkSync(target('secret', 1), path.join(tree, 'boot/vmlinuz-9.9.9'));
      const kernel = await findNewestKernel(tree);
      expect(kernel === undefined || kernel.file.startsWith(`${tree}/`)).toBe(true);
      expect(kernel?.version).not.toBe('9.9.9-host-secret');
    });
  }
});
