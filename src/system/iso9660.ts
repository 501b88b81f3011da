// Finds a file inside an ISO 9660 image by reading its directory records, so
// that a live ISO's filesystem.squashfs can be used without the kernel's
// iso9660 driver (many build hosts and CI kernels have none). Only what that
// needs is read: the volume descriptors, directory records, Rock Ridge names
// (NM, with CE continuation areas) and Joliet names (UCS-2). A file is one or
// more extents; vauban needs it contiguous, which every mastering tool does.
import { open } from 'node:fs/promises';
import { VaubanError } from '../errors.js';

/** Reads up to `length` bytes at `offset`; shorter at the end of the image. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

export interface IsoFile {
  /** Path as found, with the names the image gives (Rock Ridge, Joliet or ISO 9660). */
  path: string;
  /** Byte offset of the file's data in the image, and its size. */
  offset: number;
  size: number;
}

export interface IsoVolume {
  /** Bytes the volume says it spans (volume space size × block size). */
  volumeBytes: number;
  blockSize: number;
}

interface Entry {
  name: string;
  isDirectory: boolean;
  extents: Array<{ offset: number; size: number }>;
}

interface Tree {
  root: Entry;
  /** How names are read: Rock Ridge/plain names from the primary tree, or UCS-2 from Joliet's. */
  joliet: boolean;
}

const SECTOR = 2048;
const FIRST_DESCRIPTOR = 16 * SECTOR;
/** A directory bigger than this is not what a live ISO has: refuse rather than read a damaged image for long. */
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

/** An ISO 9660 image that cannot be read: damaged, truncated, or not what it claims. */
export class IsoFormatError extends VaubanError {}

/** Opens `file` as an ISO 9660 image and looks for the first of `paths` that exists, then for `name` up to `depth` folders down. */
export async function findFileInIso(file: string, search: { paths: string[]; name: string; depth: number }): Promise<IsoFile | undefined> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const readAt: ReadAt = async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    };
    return await findInIso(readAt, size, search);
  } finally {
    await handle.close();
  }
}

/** The search of findFileInIso, on any byte source (tests give it a buffer). */
export async function findInIso(readAt: ReadAt, imageBytes: number, search: { paths: string[]; name: string; depth: number }): Promise<IsoFile | undefined> {
  const volume = await readVolume(readAt, imageBytes);
  if (volume.volumeBytes > imageBytes) {
    throw new IsoFormatError(`truncated: its volume spans ${volume.volumeBytes} bytes, the file only ${imageBytes}`);
  }
  for (const tree of volume.trees) {
    const reader = new DirectoryReader(readAt, imageBytes, volume.blockSize, tree.joliet);
    const found = (await findByPath(reader, tree.root, search.paths)) ?? (await findByName(reader, tree.root, search.name, search.depth));
    if (found !== undefined) return toIsoFile(found.entry, found.path, imageBytes);
  }
  return undefined;
}

/** Reads the volume descriptors: the primary one (required) and a Joliet one (optional). */
export async function readVolume(readAt: ReadAt, imageBytes: number): Promise<IsoVolume & { trees: Tree[] }> {
  let primary: Buffer | undefined;
  let joliet: Buffer | undefined;
  // The descriptor set ends with type 255; 64 descriptors is far beyond any real image.
  for (let index = 0; index < 64; index++) {
    const descriptor = await readAt(FIRST_DESCRIPTOR + index * SECTOR, SECTOR);
    if (descriptor.length < SECTOR) throw new IsoFormatError('truncated: its volume descriptors are cut short');
    if (descriptor.toString('latin1', 1, 6) !== 'CD001') throw new IsoFormatError(`no ISO 9660 volume descriptor at sector ${16 + index}`);
    const type = descriptor[0];
    if (type === 255) break;
    if (type === 1 && primary === undefined) primary = descriptor;
    // Joliet: a supplementary descriptor whose escape sequence names UCS-2 level 1, 2 or 3.
    if (type === 2 && /^%\/[@CE]/.test(descriptor.toString('latin1', 88, 91)) && joliet === undefined) joliet = descriptor;
  }
  if (primary === undefined) throw new IsoFormatError('no primary volume descriptor');
  const blockSize = primary.readUInt16LE(128);
  if (blockSize !== SECTOR) throw new IsoFormatError(`a block size of ${blockSize} bytes (only ${SECTOR} is in use)`);
  const volumeBytes = primary.readUInt32LE(80) * blockSize;
  const trees: Tree[] = [{ root: rootEntry(primary), joliet: false }];
  if (joliet !== undefined) trees.push({ root: rootEntry(joliet), joliet: true });
  return { volumeBytes, blockSize, trees };
}

function rootEntry(descriptor: Buffer): Entry {
  const record = descriptor.subarray(156, 156 + 34);
  return { name: '', isDirectory: true, extents: [{ offset: record.readUInt32LE(2) * SECTOR, size: record.readUInt32LE(10) }] };
}

async function findByPath(reader: DirectoryReader, root: Entry, paths: string[]): Promise<{ entry: Entry; path: string } | undefined> {
  for (const wanted of paths) {
    let current: Entry | undefined = root;
    const names: string[] = [];
    for (const segment of wanted.split('/').filter(Boolean)) {
      if (!current?.isDirectory) {
        current = undefined;
        break;
      }
      current = (await reader.list(current)).find((entry) => sameName(entry.name, segment));
      if (current !== undefined) names.push(current.name);
    }
    if (current !== undefined && !current.isDirectory) return { entry: current, path: names.join('/') };
  }
  return undefined;
}

/** Breadth first, so the shallowest match wins, at most `depth` folders down. */
async function findByName(reader: DirectoryReader, root: Entry, name: string, depth: number): Promise<{ entry: Entry; path: string } | undefined> {
  let level: Array<{ entry: Entry; path: string }> = [{ entry: root, path: '' }];
  for (let down = 0; down <= depth && level.length > 0; down++) {
    const next: Array<{ entry: Entry; path: string }> = [];
    for (const dir of level) {
      for (const entry of await reader.list(dir.entry)) {
        const full = dir.path === '' ? entry.name : `${dir.path}/${entry.name}`;
        if (!entry.isDirectory && sameName(entry.name, name)) return { entry, path: full };
        if (entry.isDirectory) next.push({ entry, path: full });
      }
    }
    level = next;
  }
  return undefined;
}

/** Names from Rock Ridge and Joliet are exact; plain ISO 9660 names are upper case: compare without case. */
function sameName(found: string, wanted: string): boolean {
  return found === wanted || found.toLowerCase() === wanted.toLowerCase();
}

function toIsoFile(entry: Entry, path: string, imageBytes: number): IsoFile {
  const [first, ...rest] = entry.extents;
  if (first === undefined) throw new IsoFormatError(`${path} has no data extent`);
  let size = first.size;
  // A file over 4 GiB is recorded as several extents; usable as one region only when they follow each other.
  for (const extent of rest) {
    if (extent.offset !== first.offset + size) throw new IsoFormatError(`${path} is stored in non-contiguous pieces`);
    size += extent.size;
  }
  if (first.offset + size > imageBytes) {
    throw new IsoFormatError(`truncated: ${path} ends at byte ${first.offset + size}, the file at ${imageBytes}`);
  }
  return { path, offset: first.offset, size };
}

/** Reads directories of one tree, decoding its names the way the tree records them. */
class DirectoryReader {
  constructor(
    private readonly readAt: ReadAt,
    private readonly imageBytes: number,
    private readonly blockSize: number,
    private readonly joliet: boolean,
  ) {}

  async list(dir: Entry): Promise<Entry[]> {
    const extent = dir.extents[0];
    if (extent === undefined) return [];
    if (extent.size > MAX_DIRECTORY_BYTES) throw new IsoFormatError(`damaged: a directory claims ${extent.size} bytes`);
    if (extent.offset + extent.size > this.imageBytes) throw new IsoFormatError('truncated: a directory lies beyond the end of the file');
    const data = await this.readAt(extent.offset, extent.size);
    const entries: Entry[] = [];
    let pending: Entry | undefined;
    let position = 0;
    while (position < data.length) {
      const length = data[position] ?? 0;
      // Records never cross a sector: a zero length means "go to the next sector".
      if (length === 0) {
        position = (Math.floor(position / this.blockSize) + 1) * this.blockSize;
        continue;
      }
      if (length < 34 || position + length > data.length) throw new IsoFormatError('damaged: a malformed directory record');
      const record = data.subarray(position, position + length);
      position += length;
      const nameLength = record[32] ?? 0;
      const rawName = record.subarray(33, 33 + nameLength);
      // "." and "..": identifiers 0x00 and 0x01.
      if (nameLength === 1 && (rawName[0] === 0 || rawName[0] === 1)) continue;
      const flags = record[25] ?? 0;
      const extentOffset = record.readUInt32LE(2) * this.blockSize;
      const extentSize = record.readUInt32LE(10);
      if (pending !== undefined) {
        // The next record of a multi-extent file carries its next piece.
        pending.extents.push({ offset: extentOffset, size: extentSize });
      } else {
        const systemUse = record.subarray(33 + nameLength + (nameLength % 2 === 0 ? 1 : 0));
        const name = this.joliet ? plainName(Buffer.from(rawName.subarray(0, nameLength & ~1)).swap16(), 'utf16le') : ((await this.rockRidgeName(systemUse)) ?? plainName(rawName, 'latin1'));
        pending = { name, isDirectory: (flags & 0x02) !== 0, extents: [{ offset: extentOffset, size: extentSize }] };
      }
      // Flag bit 7: more extents of this file follow.
      if ((flags & 0x80) === 0) {
        entries.push(pending);
        pending = undefined;
      }
    }
    return entries;
  }

  /** The Rock Ridge name (NM entries, possibly split and continued in a CE area), if any. */
  private async rockRidgeName(systemUse: Buffer): Promise<string | undefined> {
    let parts: Buffer[] | undefined;
    let area: Buffer | undefined = systemUse;
    // A continuation chain longer than this is a loop in a damaged image.
    for (let hops = 0; area !== undefined && hops < 16; hops++) {
      let continuation: Buffer | undefined;
      let position = 0;
      while (position + 4 <= area.length) {
        const signature = area.toString('latin1', position, position + 2);
        const length = area[position + 2] ?? 0;
        if (length < 4 || position + length > area.length) break;
        const entry = area.subarray(position, position + length);
        if (signature === 'NM') {
          const flags = entry[4] ?? 0;
          // Flags 2 and 4 stand for "." and "..", which are not listed anyway.
          if ((flags & 0x06) === 0) (parts ??= []).push(entry.subarray(5));
        } else if (signature === 'CE' && length >= 28) {
          const offset = entry.readUInt32LE(4) * this.blockSize + entry.readUInt32LE(12);
          const size = entry.readUInt32LE(20);
          if (size > 0 && size <= this.blockSize && offset + size <= this.imageBytes) continuation = await this.readAt(offset, size);
        } else if (signature === 'ST') {
          break;
        }
        position += length;
      }
      area = continuation;
    }
    return parts === undefined ? undefined : Buffer.concat(parts).toString('utf8');
  }
}

/** An ISO 9660 file identifier without its ";1" version and a trailing dot of an extension-less name. */
function plainName(raw: Buffer, encoding: 'latin1' | 'utf16le'): string {
  return raw.toString(encoding).replace(/;\d+$/, '').replace(/\.$/, '');
}
