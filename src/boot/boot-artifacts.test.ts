import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { liveReleaseArtifacts } from './boot-artifacts.js';

let pxe: string;

/** A PXE server folder as publishRelease leaves it: two releases of m, the second live. */
function layout(): void {
  const file = (relative: string, content = relative) => {
    mkdirSync(path.dirname(path.join(pxe, relative)), { recursive: true });
    writeFileSync(path.join(pxe, relative), content);
  };
  file('linux/vmlinuz-6.1.0-1-amd64');
  file('linux/initramfs.img-6.1.0-1-amd64');
  for (const release of ['20260120T140100Z-a', '20260120T140200Z-b']) {
    file(`m/releases/${release}/rootfs.tgz`);
    file(`m/releases/${release}/conffs-web01.tgz`);
    symlinkSync('../../../linux/vmlinuz-6.1.0-1-amd64', path.join(pxe, `m/releases/${release}/vmlinuz`));
    symlinkSync('../../../linux/initramfs.img-6.1.0-1-amd64', path.join(pxe, `m/releases/${release}/initramfs.img`));
  }
  symlinkSync('releases/20260120T140200Z-b', path.join(pxe, 'm/current'));
  file('boot/by-mac/52-54-00-00-00-02.ipxe', '#!ipxe\n# vauban: 52-54-00-00-00-02 is web02\nchain ../web02.ipxe\n');
  file('boot/by-mac/52-54-00-00-00-01.ipxe', '#!ipxe\n# vauban: 52-54-00-00-00-01 is web01\nchain ../web01.ipxe\n');
}

beforeEach(() => {
  pxe = mkdtempSync(path.join(tmpdir(), 'vauban-boot-artifacts-'));
});
afterEach(() => rmSync(pxe, { recursive: true, force: true }));

describe('vauban boot --pxe-dir: the live release of a PXE server folder', () => {
  it('takes the files current points to, the kernel through its links, and the host\'s MAC entry', () => {
    layout();
    const artifacts = liveReleaseArtifacts(pxe, 'm', 'web01');
    expect(artifacts.release).toBe('20260120T140200Z-b');
    expect(artifacts.rootfs).toBe(path.join(pxe, 'm/releases/20260120T140200Z-b/rootfs.tgz'));
    expect(artifacts.conffs).toBe(path.join(pxe, 'm/releases/20260120T140200Z-b/conffs-web01.tgz'));
    expect(artifacts.vmlinuz).toBe(path.join(pxe, 'linux/vmlinuz-6.1.0-1-amd64'));
    expect(artifacts.initramfs).toBe(path.join(pxe, 'linux/initramfs.img-6.1.0-1-amd64'));
    expect(artifacts.byMac?.mac).toBe('52-54-00-00-00-01');
  });

  it('names what is missing: no live release, no conffs of the host, a link that leaves the folder', () => {
    expect(() => liveReleaseArtifacts(pxe, 'm', 'web01')).toThrow(/has no live release of m/);
    layout();
    expect(() => liveReleaseArtifacts(pxe, 'm', 'web03')).toThrow(/release 20260120T140200Z-b of m has no conffs-web03\.tgz/);
    rmSync(path.join(pxe, 'm/releases/20260120T140200Z-b/rootfs.tgz'));
    symlinkSync('/etc/hostname', path.join(pxe, 'm/releases/20260120T140200Z-b/rootfs.tgz'));
    expect(() => liveReleaseArtifacts(pxe, 'm', 'web01')).toThrow(/leads out of/);
  });
});
