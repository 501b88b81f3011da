// What the operator's base file (--iso) is, found from its content alone,
// and whether vauban can use it: cheap (a few reads, at most a peek into a
// compressed stream), so it runs before any work and again in mount_iso.
import { open } from 'node:fs/promises';
import path from 'node:path';
import { EXIT, VaubanError } from '../errors.js';
import { peekDecompressed, type StreamCompression } from '../system/decompress.js';
import { ACCEPTED_KINDS, DETECT_BYTES, detectDiskImage, detectImageKind } from '../system/disk-image.js';
import { findFileInIso, IsoFormatError, type IsoFile } from '../system/iso9660.js';
import { inspectQemuImage, type QemuImageInfo } from '../system/qemu-img.js';
import type { RunOptions } from '../system/run.js';

/** Where a live ISO keeps its root file system: Debian's live/ first, then any folder up to 3 down (Ubuntu's casper/). */
export const LIVE_SQUASHFS = { paths: ['live/filesystem.squashfs'], name: 'filesystem.squashfs', depth: 3 };

/** Debian's *.tar.xz cloud images hold one member: disk.raw. */
export const TAR_MEMBER = 'disk.raw';

export type BaseFile =
  | { kind: 'raw' }
  | { kind: 'iso'; squashfs: IsoFile }
  | { kind: 'qcow2'; info: QemuImageInfo }
  | { kind: 'compressed'; compression: StreamCompression; content: 'raw' | 'iso' | 'tar' };

/** Tells what `file` is, or throws one clear error saying what is accepted. */
export async function inspectBaseFile(file: string, runOptions: RunOptions = {}): Promise<BaseFile> {
  const kind = await detectDiskImage(file);
  switch (kind) {
    case 'raw':
      return { kind };
    case 'qcow2':
      return { kind, info: await inspectQcow2(file, runOptions) };
    case 'iso':
      return { kind, squashfs: await locateLiveSquashfs(file) };
    case 'xz':
    case 'zstd': {
      const content = detectImageKind(await peekDecompressed(file, kind, DETECT_BYTES, runOptions));
      if (content === 'raw' || content === 'iso' || content === 'tar') return { kind: 'compressed', compression: kind, content };
      throw new VaubanError(`${file} is compressed with ${kind}, but holds ${content === 'unknown' ? 'nothing vauban knows' : `a ${content} file`}`, {
        hint: `accepted: ${ACCEPTED_KINDS}`,
      });
    }
    default:
      throw new VaubanError(`${file} is not a base vauban can use: its content is none of the accepted kinds`, { hint: `accepted: ${ACCEPTED_KINDS}`, exitCode: EXIT.usage });
  }
}

/** A qcow2 image's sizes; refused when it names other host files (backing file, data file): converting would pull them into the build. */
async function inspectQcow2(file: string, runOptions: RunOptions): Promise<QemuImageInfo> {
  const info = await inspectQemuImage(file, 'qcow2', runOptions);
  if (info.references.length > 0) {
    throw new VaubanError(`${file} is a qcow2 image that refers to other files (${info.references.join(', ')}): only self-contained images are accepted`, {
      hint: `flatten it first: qemu-img convert -O qcow2 ${path.basename(file)} flat.qcow2`,
    });
  }
  return info;
}

/** The live ISO's filesystem.squashfs: where it lies in the ISO, checked to be a squashfs. */
export async function locateLiveSquashfs(file: string): Promise<IsoFile> {
  let squashfs: IsoFile | undefined;
  try {
    squashfs = await findFileInIso(file, LIVE_SQUASHFS);
  } catch (error) {
    if (error instanceof IsoFormatError) throw new VaubanError(`${file} is an unusable ISO 9660 image: ${error.message}`, { cause: error, exitCode: EXIT.usage });
    throw error;
  }
  if (squashfs === undefined) {
    throw new VaubanError(`${file} is an ISO 9660 image without a filesystem.squashfs (looked for live/filesystem.squashfs and up to 3 folders down): not a live ISO`, {
      hint: `accepted: ${ACCEPTED_KINDS}`,
      exitCode: EXIT.usage,
    });
  }
  const handle = await open(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    await handle.read(magic, 0, 4, squashfs.offset);
    if (magic.toString('latin1') !== 'hsqs') throw new VaubanError(`${file}: ${squashfs.path} in this ISO is not a squashfs`);
  } finally {
    await handle.close();
  }
  return squashfs;
}

/** A few words on a base file, for the log and the plan. */
export function describeBaseFile(file: string, base: BaseFile): string {
  return `${path.basename(file)} (${describeBaseKind(base)})`;
}

export function describeBaseKind(base: BaseFile): string {
  switch (base.kind) {
    case 'raw':
      return 'raw disk image';
    case 'iso':
      return `live ISO, ${base.squashfs.path} at byte ${base.squashfs.offset}`;
    case 'qcow2':
      return 'qcow2 image';
    case 'compressed': {
      const content = base.content === 'tar' ? `tar archive holding ${TAR_MEMBER}` : base.content === 'iso' ? 'live ISO' : 'raw disk image';
      return `${content}, ${base.compression}-compressed`;
    }
  }
}
