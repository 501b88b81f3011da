// The base file's kind and usability, on files made by the real tools
// (qemu-img, xz, zstd, xorriso): no root, no mount.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBaseFile, inspectBaseFile } from './inspect-base-file.js';

let dir: string;
let disk: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vauban-inspect-'));
  // A small GPT disk image, as Debian's raw images are.
  disk = path.join(dir, 'disk.raw');
  execFileSync('truncate', ['-s', '8M', disk]);
  execFileSync('sfdisk', ['--quiet', '--label', 'gpt', disk], { input: 'start=2048, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('inspectBaseFile', () => {
  it('tells every accepted kind by content, whatever the name', async () => {
    const named = (name: string) => path.join(dir, name);
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', disk, named('a.bin')]);
    execFileSync('bash', ['-c', 'xz -0 -c "$1" > "$2"; zstd -q -c "$1" > "$3"; tar -c -C "$4" disk.raw | xz -0 > "$5"', '_', disk, named('b.bin'), named('c.bin'), dir, named('d.bin')]);
    const kinds = await Promise.all(['a.bin', 'b.bin', 'c.bin', 'd.bin'].map(async (name) => describeBaseFile(named(name), await inspectBaseFile(named(name)))));
    expect(kinds).toEqual([
      'a.bin (qcow2 image)',
      'b.bin (raw disk image, xz-compressed)',
      'c.bin (raw disk image, zstd-compressed)',
      'd.bin (tar archive holding disk.raw, xz-compressed)',
    ]);
    expect(describeBaseFile(disk, await inspectBaseFile(disk))).toBe('disk.raw (raw disk image)');
  });

  it('refuses a qcow2 image that refers to a backing file of the host', async () => {
    const overlay = path.join(dir, 'overlay.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', disk, overlay]);
    await expect(inspectBaseFile(overlay)).rejects.toThrow(/overlay\.qcow2 is a qcow2 image that refers to other files \(\S+disk\.raw\): only self-contained images are accepted/);
  });

  it('refuses a compressed file holding something else, and a file of no accepted kind, listing the kinds', async () => {
    const text = path.join(dir, 'notes.txt');
    writeFileSync(text, 'not a disk\n'.repeat(1000));
    execFileSync('xz', ['-k', text]);
    await expect(inspectBaseFile(`${text}.xz`)).rejects.toThrow(/notes\.txt\.xz is compressed with xz, but holds nothing vauban knows/);
    await expect(inspectBaseFile(text)).rejects.toMatchObject({
      message: expect.stringMatching(/notes\.txt is not a base vauban can use: its content is none of the accepted kinds/),
      hint: expect.stringMatching(/^accepted: a raw disk image .* a live ISO .* a qcow2 image, .* xz or zstd, .* disk\.raw/),
    });
  });

  it('refuses an ISO whose filesystem.squashfs is not a squashfs', async () => {
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'live'), { recursive: true });
    writeFileSync(path.join(tree, 'live', 'filesystem.squashfs'), 'not a squashfs\n');
    const iso = path.join(dir, 'fake.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-o', iso, tree], { stdio: 'ignore' });
    await expect(inspectBaseFile(iso)).rejects.toThrow(/fake\.iso: live\/filesystem\.squashfs in this ISO is not a squashfs/);
  });
});
