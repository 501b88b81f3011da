// Tells a raw disk image from an ISO 9660 image by their signatures, without
// `file`: an ISO has "CD001" at 32769; a disk has 0x55AA at 510 (MBR, or the
// protective MBR of GPT) or "EFI PART" at 512.
import { open } from 'node:fs/promises';

export type DiskImageKind = 'iso' | 'raw' | 'unknown';

export async function detectDiskImage(file: string): Promise<DiskImageKind> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(32774);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead >= 32774 && buffer.toString('latin1', 32769, 32774) === 'CD001') return 'iso';
    if (bytesRead >= 520 && buffer.toString('latin1', 512, 520) === 'EFI PART') return 'raw';
    if (bytesRead >= 512 && buffer[510] === 0x55 && buffer[511] === 0xaa) return 'raw';
    return 'unknown';
  } finally {
    await handle.close();
  }
}
