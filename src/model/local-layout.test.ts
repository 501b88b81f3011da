import { describe, expect, it } from 'vitest';
import {
  INITRAMFS,
  ROOTFS_TARBALL,
  VMLINUZ,
  SBOM_FILE,
  bootSerialLogName,
  conffsArchive,
  conffsFolder,
  hostLogName,
  keptConffsArchive,
  keptConffsFolder,
  keptConffsFoldersOf,
  macEntryIn,
  parseKeptConffsFolder,
  runStamp,
} from './local-layout.js';
import { conffsMember } from '../pxe/layout.js';

describe('the local layout', () => {
  it('names the artifacts as vauban.sh did (A6), the names they keep on the PXE servers', () => {
    expect([VMLINUZ, INITRAMFS]).toEqual(['vmlinuz', 'initramfs.img']);
    expect([ROOTFS_TARBALL, SBOM_FILE]).toEqual(['rootfs.tgz', 'sbom.cdx.json']);
    expect(conffsArchive('web01')).toBe('overlayfs/overlayfs-web01/conffs-web01.tgz');
    expect(conffsArchive('web01').endsWith(`/${conffsMember('web01')}`)).toBe(true);
    expect(macEntryIn(conffsFolder('web01'), '52-54-00-12-34-56')).toBe('overlayfs/overlayfs-web01/by-mac/52-54-00-12-34-56.ipxe');
  });

  it("a run's stamp: its start to the second, UTC; the kept folder and the log carry it", () => {
    const stamp = runStamp(new Date('2026-01-20T14:32:05.678Z'));
    expect(stamp).toBe('2026-01-20T14:32:05Z');
    expect(keptConffsFolder(stamp, 'web01')).toBe('overlayfs/2026-01-20T14:32:05Z-overlayfs-web01');
    expect(keptConffsArchive(stamp, 'web01')).toBe('overlayfs/2026-01-20T14:32:05Z-overlayfs-web01/conffs-web01.tgz');
    expect(hostLogName('debian-12.8', 'web01', stamp)).toBe('debian-12.8-web01-2026-01-20T14:32:05Z');
    expect(bootSerialLogName('master-12-web', 'web01')).toBe('vauban-boot-master-12-web-web01.log');
  });

  it('reads a kept folder back, and nothing else as one', () => {
    const name = keptConffsFolder(runStamp(new Date('2026-01-20T14:32:05Z')), 'db-overlayfs-01').split('/')[1] as string;
    expect(parseKeptConffsFolder(name)).toEqual({ stamp: '2026-01-20T14:32:05Z', host: 'db-overlayfs-01' });
    for (const other of ['overlayfs-web01', 'x-overlayfs-web01', '2026-01-20-overlayfs-web01', '2026-01-20T14:32:05.1Z-overlayfs-web01']) {
      expect(parseKeptConffsFolder(other), other).toBeUndefined();
    }
  });

  it("lists one host's kept folders, oldest first: not another host's whose name ends the same", () => {
    const names = [
      '2026-01-21T00:00:00Z-overlayfs-web01',
      'overlayfs-web01',
      '2026-01-20T00:00:00Z-overlayfs-web01',
      '2026-01-22T00:00:00Z-overlayfs-x-overlayfs-web01',
      '2026-01-23T00:00:00Z-overlayfs-web02',
    ];
    expect(keptConffsFoldersOf(names, 'web01')).toEqual(['overlayfs/2026-01-20T00:00:00Z-overlayfs-web01', 'overlayfs/2026-01-21T00:00:00Z-overlayfs-web01']);
    expect(keptConffsFoldersOf(names, 'x-overlayfs-web01')).toEqual(['overlayfs/2026-01-22T00:00:00Z-overlayfs-x-overlayfs-web01']);
  });
});
