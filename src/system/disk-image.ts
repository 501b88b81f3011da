// Tells what a base file is from its first bytes, never from its name:
// - an ISO 9660 image has "CD001" at 32769. Checked first: a hybrid ISO (as
//   Debian's are) also carries an MBR and a GPT, and is still an ISO;
// - qcow2 starts with "QFI\xfb"; xz with FD "7zXZ" 00; zstd with 28 B5 2F FD;
// - a tar archive has "ustar" at 257 (what Debian's *.tar.xz decompress to);
// - a raw disk has "EFI PART" at 512 (GPT), or 0x55AA at 510 with four MBR
//   partition entries whose boot flag is 0x00 or 0x80 (a bare 0x55AA matches
//   one random file in 65536).
import { open } from 'node:fs/promises';

export type DiskImageKind = 'iso' | 'raw' | 'qcow2' | 'xz' | 'zstd' | 'tar' | 'unknown';

/** Bytes detectImageKind needs to see everything it looks for. */
export const DETECT_BYTES = 32774;

/** What the accepted kinds are, for error messages. */
export const ACCEPTED_KINDS =
  'a raw disk image (partition 1 the root file system, e.g. debian-12-generic-amd64.raw), ' +
  'a live ISO holding live/filesystem.squashfs (hybrid too), a qcow2 image, ' +
  'or a raw image or ISO compressed with xz or zstd, or a tar.xz / tar.zst holding disk.raw (as Debian publishes)';

export async function detectDiskImage(file: string): Promise<DiskImageKind> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(DETECT_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return detectImageKind(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The kind of the data whose first bytes (up to DETECT_BYTES) are `head`. */
export function detectImageKind(head: Uint8Array): DiskImageKind {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const at = (offset: number, text: string): boolean =>
    bytes.length >= offset + text.length && bytes.toString('latin1', offset, offset + text.length) === text;
  if (at(32769, 'CD001')) return 'iso';
  if (at(0, 'QFI\xfb')) return 'qcow2';
  if (at(0, '\xfd7zXZ\x00')) return 'xz';
  if (at(0, '\x28\xb5\x2f\xfd')) return 'zstd';
  if (at(257, 'ustar')) return 'tar';
  if (at(512, 'EFI PART')) return 'raw';
  if (bytes.length >= 512 && bytes[510] === 0x55 && bytes[511] === 0xaa && hasPlausibleMbr(bytes)) return 'raw';
  return 'unknown';
}

/** Four partition entries at 446, 16 bytes each: boot flag 0x00 or 0x80, and at least one typed. */
function hasPlausibleMbr(bytes: Buffer): boolean {
  let typed = 0;
  for (let entry = 446; entry < 510; entry += 16) {
    const flag = bytes[entry];
    if (flag !== 0x00 && flag !== 0x80) return false;
    if (bytes[entry + 4] !== 0) typed++;
  }
  return typed > 0;
}
