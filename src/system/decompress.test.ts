// The decompression wrappers on real xz, zstd and tar (no root): a sparse
// image comes out byte-identical and still sparse; a tar member that is a
// link, or missing, is refused with one clear message.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decompressToFile, extractTarMember, peekDecompressed } from './decompress.js';

let dir: string;
let image: string;
const SIZE = 64 * 1024 * 1024;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vauban-decompress-'));
  // A 64 MiB disk image that is mostly a hole, with data at its start and in its middle.
  image = path.join(dir, 'disk.raw');
  execFileSync('truncate', ['-s', String(SIZE), image]);
  execFileSync('dd', ['if=/dev/urandom', `of=${image}`, 'bs=4096', 'count=4', 'conv=notrunc'], { stdio: 'ignore' });
  execFileSync('dd', ['if=/dev/urandom', `of=${image}`, 'bs=4096', 'count=4', `seek=${SIZE / 2 / 4096}`, 'conv=notrunc'], { stdio: 'ignore' });
  execFileSync('xz', ['-0', '-k', image]);
  execFileSync('zstd', ['-q', image, '-o', `${image}.zst`]);
  execFileSync('tar', ['--create', '--sparse', '--xz', '--file', path.join(dir, 'disk.tar.xz'), '--directory', dir, 'disk.raw']);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decompressToFile', () => {
  for (const compression of ['xz', 'zstd'] as const) {
    it(`${compression}: the same bytes, and a sparse file`, async () => {
      const output = path.join(dir, `out-${compression}.raw`);
      await decompressToFile({ source: `${image}${compression === 'xz' ? '.xz' : '.zst'}`, compression, output });
      expect(readFileSync(output).equals(readFileSync(image))).toBe(true);
      expect(statSync(output).blocks * 512).toBeLessThan(SIZE / 8);
    });
  }

  it('peeks at the start of the stream without decompressing it all', async () => {
    const head = await peekDecompressed(`${image}.xz`, 'xz', 1000);
    expect(head.equals(readFileSync(image).subarray(0, 1000))).toBe(true);
  });
});

describe('extractTarMember', () => {
  it('takes disk.raw out of a sparse tar.xz, the same bytes, still sparse', async () => {
    const out = path.join(dir, 'extract');
    mkdirSync(out);
    const file = await extractTarMember({ source: path.join(dir, 'disk.tar.xz'), compression: 'xz', member: 'disk.raw', directory: out });
    expect(readFileSync(file).equals(readFileSync(image))).toBe(true);
    expect(statSync(file).blocks * 512).toBeLessThan(SIZE / 8);
  });

  it('refuses a member that is a link, and says when the member is missing', async () => {
    const evil = path.join(dir, 'evil');
    mkdirSync(evil);
    symlinkSync('/etc/hostname', path.join(evil, 'disk.raw'));
    writeFileSync(path.join(evil, 'other.raw'), 'x');
    execFileSync('tar', ['--create', '--xz', '--file', path.join(dir, 'evil.tar.xz'), '--directory', evil, 'disk.raw']);
    execFileSync('tar', ['--create', '--xz', '--file', path.join(dir, 'other.tar.xz'), '--directory', evil, 'other.raw']);
    for (const [name, message] of [
      ['evil.tar.xz', /disk\.raw in \S+evil\.tar\.xz is not a plain file \(a link or a folder\): refused/],
      ['other.tar.xz', /other\.tar\.xz is a tar archive without disk\.raw/],
    ] as const) {
      const out = path.join(dir, `extract-${name}`);
      mkdirSync(out);
      await expect(extractTarMember({ source: path.join(dir, name), compression: 'xz', member: 'disk.raw', directory: out })).rejects.toThrow(message);
    }
  });
});
