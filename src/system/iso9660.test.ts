// The ISO 9660 reader on small images made by Debian's xorriso (no root, no
// mount): Rock Ridge, Joliet and plain names, a hybrid image, deep and large
// directories, long names in continuation areas, and damaged images. Where a
// file is found, its bytes at the offset given must be the file's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectDiskImage } from './disk-image.js';
import { findFileInIso, findInIso, IsoFormatError, type ReadAt } from './iso9660.js';

const LIVE = { paths: ['live/filesystem.squashfs'], name: 'filesystem.squashfs', depth: 3 };
let dir: string;
let tree: string;
const squashfs = Buffer.alloc(300_000);

function xorriso(args: string[]): void {
  execFileSync('xorriso', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeIso(name: string, args: string[], source = tree): string {
  const file = path.join(dir, name);
  xorriso(['-as', 'mkisofs', '-quiet', ...args, '-o', file, source]);
  return file;
}

function bytesAt(file: string, offset: number, size: number): Buffer {
  return readFileSync(file).subarray(offset, offset + size);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vauban-iso9660-'));
  tree = path.join(dir, 'tree');
  for (let index = 0; index < squashfs.length; index++) squashfs[index] = (index * 7 + 3) % 251;
  mkdirSync(path.join(tree, 'live'), { recursive: true });
  writeFileSync(path.join(tree, 'live', 'filesystem.squashfs'), squashfs);
  writeFileSync(path.join(tree, 'live', 'vmlinuz'), 'kernel\n');
  // A decoy with the same name deeper down: live/ must win.
  mkdirSync(path.join(tree, 'a', 'b'), { recursive: true });
  writeFileSync(path.join(tree, 'a', 'b', 'filesystem.squashfs'), 'decoy\n');
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('finding live/filesystem.squashfs', () => {
  it('with Rock Ridge and Joliet names (as Debian makes its live ISOs)', async () => {
    const iso = makeIso('rr.iso', ['-r', '-J', '-joliet-long']);
    const found = await findFileInIso(iso, LIVE);
    expect(found).toMatchObject({ path: 'live/filesystem.squashfs', size: squashfs.length });
    expect((found?.offset ?? 1) % 2048).toBe(0);
    expect(bytesAt(iso, found?.offset ?? 0, squashfs.length).equals(squashfs)).toBe(true);
  });

  it('with Joliet names only, and with plain ISO 9660 names only', async () => {
    for (const [name, args] of [
      ['joliet.iso', ['-rockridge', 'off', '-joliet', 'on']],
      ['plain.iso', ['-rockridge', 'off', '-joliet', 'off']],
    ] as const) {
      const iso = path.join(dir, name);
      xorriso([...args, '-outdev', iso, '-map', tree, '/']);
      const found = await findFileInIso(iso, LIVE);
      expect(found?.path.toLowerCase(), name).toBe('live/filesystem.squashfs');
      expect(bytesAt(iso, found?.offset ?? 0, squashfs.length).equals(squashfs), name).toBe(true);
    }
  });

  it('in a hybrid ISO (MBR and GPT beside the ISO 9660 volume), which is told an ISO, not a raw disk', async () => {
    const hybridTree = path.join(dir, 'hybrid-tree');
    execFileSync('cp', ['-a', tree, hybridTree]);
    mkdirSync(path.join(hybridTree, 'isolinux'));
    execFileSync('cp', ['/usr/lib/ISOLINUX/isolinux.bin', path.join(hybridTree, 'isolinux')]);
    mkdirSync(path.join(hybridTree, 'boot', 'grub'), { recursive: true });
    execFileSync('mkfs.vfat', ['-C', path.join(hybridTree, 'boot', 'grub', 'efi.img'), '1440'], { stdio: 'ignore' });
    const iso = makeIso(
      'hybrid.iso',
      [
        '-r', '-J', '-isohybrid-mbr', '/usr/lib/ISOLINUX/isohdpfx.bin',
        '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
        '-eltorito-alt-boot', '-e', 'boot/grub/efi.img', '-no-emul-boot', '-isohybrid-gpt-basdat',
      ],
      hybridTree,
    );
    const head = readFileSync(iso).subarray(0, 520);
    expect(head.toString('latin1', 512, 520)).toBe('EFI PART');
    expect([head[510], head[511]]).toEqual([0x55, 0xaa]);
    expect(await detectDiskImage(iso)).toBe('iso');
    const found = await findFileInIso(iso, LIVE);
    expect(bytesAt(iso, found?.offset ?? 0, squashfs.length).equals(squashfs)).toBe(true);
  });

  it('elsewhere (casper/), up to 3 folders down, the shallowest first; not deeper', async () => {
    const other = path.join(dir, 'casper-tree');
    mkdirSync(path.join(other, 'casper'), { recursive: true });
    writeFileSync(path.join(other, 'casper', 'filesystem.squashfs'), squashfs);
    mkdirSync(path.join(other, 'x', 'y', 'z', 'w'), { recursive: true });
    writeFileSync(path.join(other, 'x', 'y', 'z', 'w', 'filesystem.squashfs'), 'too deep\n');
    const iso = makeIso('casper.iso', ['-r'], other);
    expect(await findFileInIso(iso, LIVE)).toMatchObject({ path: 'casper/filesystem.squashfs', size: squashfs.length });
    rmSync(path.join(other, 'casper'), { recursive: true });
    expect(await findFileInIso(makeIso('deep.iso', ['-r'], other), LIVE)).toBeUndefined();
  });

  it('in a directory spanning many sectors, under a name long enough for a continuation area', async () => {
    const big = path.join(dir, 'big-tree');
    mkdirSync(path.join(big, 'live'), { recursive: true });
    for (let index = 0; index < 400; index++) writeFileSync(path.join(big, 'live', `${'n'.repeat(60)}-${index}`), '');
    const long = `${'l'.repeat(200)}.squashfs`;
    writeFileSync(path.join(big, 'live', long), squashfs);
    const iso = makeIso('big.iso', ['-r'], big);
    const found = await findFileInIso(iso, { paths: [`live/${long}`], name: long, depth: 1 });
    expect(found?.path).toBe(`live/${long}`);
    expect(bytesAt(iso, found?.offset ?? 0, squashfs.length).equals(squashfs)).toBe(true);
  });
});

describe('what it refuses or does not find', () => {
  it('an ISO without the file: undefined', async () => {
    const empty = path.join(dir, 'empty-tree');
    mkdirSync(path.join(empty, 'live'), { recursive: true });
    writeFileSync(path.join(empty, 'live', 'vmlinuz'), 'kernel\n');
    expect(await findFileInIso(makeIso('empty.iso', ['-r', '-J'], empty), LIVE)).toBeUndefined();
  });

  it('a truncated ISO: an error saying so', async () => {
    const iso = makeIso('cut.iso', ['-r']);
    for (const size of [40_000, 100_000]) {
      truncateSync(iso, size);
      await expect(findFileInIso(iso, LIVE)).rejects.toThrow(/truncated/);
    }
  });

  it('a file whose extent lies beyond the image, and a damaged directory record', async () => {
    const image = readFileSync(makeIso('damaged.iso', ['-r']));
    const readAt = (bytes: Buffer): ReadAt => async (offset, length) => bytes.subarray(offset, offset + length);
    // The volume says it is as big as the file; the file it holds claims to be past the end.
    const found = await findInIso(readAt(image), image.length, LIVE);
    expect(found).toBeDefined();
    const liar = Buffer.from(image);
    // Finds the file's directory record by its extent (little-endian LBA at byte 2 of the record).
    const lba = (found?.offset ?? 0) / 2048;
    const record = findRecord(liar, lba);
    liar.writeUInt32LE(image.length, record + 10);
    liar.writeUInt32BE(image.length, record + 14);
    await expect(findInIso(readAt(liar), liar.length, LIVE)).rejects.toThrow(/truncated: live\/filesystem\.squashfs ends at byte \d+, the file at \d+/);
    const broken = Buffer.from(image);
    broken[findRecord(broken, lba)] = 20;
    await expect(findInIso(readAt(broken), broken.length, LIVE)).rejects.toThrow(IsoFormatError);
  });

  it('a file recorded as several extents (as files over 4 GiB are): one region when they follow each other, refused otherwise', async () => {
    const image = readFileSync(makeIso('multi.iso', ['-r']));
    const readAt = (bytes: Buffer): ReadAt => async (offset, length) => bytes.subarray(offset, offset + length);
    const found = await findInIso(readAt(image), image.length, LIVE);
    const lba = (found?.offset ?? 0) / 2048;
    const split = (secondLba: number): Buffer => {
      const bytes = Buffer.from(image);
      const record = findRecord(bytes, lba);
      const length = bytes[record] ?? 0;
      const sector = Math.floor(record / 2048) * 2048;
      let end = sector;
      while (end < sector + 2048 && (bytes[end] ?? 0) > 0) end += bytes[end] ?? 0;
      expect(end + length).toBeLessThanOrEqual(sector + 2048);
      // The record twice in a row: the first carries 100 blocks and the multi-extent flag, the second the rest.
      bytes.copyWithin(record + 2 * length, record + length, end);
      bytes.copy(bytes, record + length, record, record + length);
      bytes[record + 25] = (bytes[record + 25] ?? 0) | 0x80;
      bytes.writeUInt32LE(100 * 2048, record + 10);
      bytes.writeUInt32BE(100 * 2048, record + 14);
      const second = record + length;
      bytes.writeUInt32LE(secondLba, second + 2);
      bytes.writeUInt32BE(secondLba, second + 6);
      bytes.writeUInt32LE(squashfs.length - 100 * 2048, second + 10);
      bytes.writeUInt32BE(squashfs.length - 100 * 2048, second + 14);
      return bytes;
    };
    const contiguous = split(lba + 100);
    expect(await findInIso(readAt(contiguous), contiguous.length, LIVE)).toEqual({ path: 'live/filesystem.squashfs', offset: lba * 2048, size: squashfs.length });
    const scattered = split(lba + 101);
    await expect(findInIso(readAt(scattered), scattered.length, LIVE)).rejects.toThrow(/live\/filesystem\.squashfs is stored in non-contiguous pieces/);
  });

  it('not an ISO at all', async () => {
    const bytes = Buffer.alloc(64 * 1024, 0x41);
    await expect(findInIso(async (offset, length) => bytes.subarray(offset, offset + length), bytes.length, LIVE)).rejects.toThrow(/no ISO 9660 volume descriptor/);
  });
});

/** Offset of the directory record whose extent starts at `lba` (searched in the directory area). */
function findRecord(image: Buffer, lba: number): number {
  for (let position = 18 * 2048; position < image.length - 34; position++) {
    const length = image[position] ?? 0;
    if (length >= 34 && image.readUInt32LE(position + 2) === lba && image.readUInt32BE(position + 6) === lba) return position;
  }
  throw new Error(`no directory record for LBA ${lba}`);
}
