// Kinds of base told from their first bytes, as written by the real tools
// (the magic numbers of xz, zstd, qcow2, tar, GPT, MBR, ISO 9660).
import { describe, expect, it } from 'vitest';
import { DETECT_BYTES, detectImageKind } from './disk-image.js';

function head(write: (bytes: Buffer) => void): Buffer {
  const bytes = Buffer.alloc(DETECT_BYTES);
  write(bytes);
  return bytes;
}

describe('detectImageKind', () => {
  it('tells each accepted kind by its signature', () => {
    expect(detectImageKind(head((b) => b.write('CD001', 32769, 'latin1')))).toBe('iso');
    expect(detectImageKind(head((b) => b.write('QFI\xfb\x00\x00\x00\x03', 0, 'latin1')))).toBe('qcow2');
    expect(detectImageKind(head((b) => b.write('\xfd7zXZ\x00', 0, 'latin1')))).toBe('xz');
    expect(detectImageKind(head((b) => b.writeUInt32LE(0xfd2fb528, 0)))).toBe('zstd');
    expect(detectImageKind(head((b) => b.write('ustar\x0000', 257, 'latin1')))).toBe('tar');
    expect(detectImageKind(head((b) => b.write('EFI PART', 512, 'latin1')))).toBe('raw');
    // An MBR: partition 1 of type 0x83, bootable.
    expect(detectImageKind(head((b) => { b[446] = 0x80; b[450] = 0x83; b[510] = 0x55; b[511] = 0xaa; }))).toBe('raw');
  });

  it('an ISO 9660 image stays an ISO with an MBR and a GPT beside it (hybrid)', () => {
    const hybrid = head((b) => { b[446] = 0x80; b[450] = 0x00; b[466] = 0; b[470] = 0xef; b[510] = 0x55; b[511] = 0xaa; b.write('EFI PART', 512, 'latin1'); b.write('CD001', 32769, 'latin1'); });
    expect(detectImageKind(hybrid)).toBe('iso');
  });

  it('0x55AA alone, with no plausible partition entry, is not a disk; nor is a short or empty file', () => {
    expect(detectImageKind(head((b) => { b.fill(0x41); b[510] = 0x55; b[511] = 0xaa; }))).toBe('unknown');
    expect(detectImageKind(head((b) => { b[510] = 0x55; b[511] = 0xaa; }))).toBe('unknown');
    expect(detectImageKind(Buffer.from('CD0'))).toBe('unknown');
    expect(detectImageKind(Buffer.alloc(0))).toBe('unknown');
  });
});
