// Turns the operator's base file into one the kernel can mount without
// drivers it may lack (iso9660, nbd): a raw disk image or a live ISO is used
// in place; a qcow2 image is converted, and a compressed download
// decompressed, once, into a sparse file of the run's work folder (removed
// with it). The operator's file is only ever read.
import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunOptions } from '../system/run.js';
import { VaubanError } from '../errors.js';
import type { StepHandle } from '../reporter.js';
import { formatSeconds } from '../reporter.js';
import { decompressToFile, extractTarMember } from '../system/decompress.js';
import { detectDiskImage } from '../system/disk-image.js';
import type { IsoFile } from '../system/iso9660.js';
import { convertToRaw, type QemuImageInfo } from '../system/qemu-img.js';
import { describeBaseFile, locateLiveSquashfs, TAR_MEMBER, type BaseFile } from './inspect-base-file.js';
import { formatBytes } from '../system/format-bytes.js';

export { formatBytes };

/** Where a copy is made and how the work is said: the run's work folder, its commands' options, its info lines. */
export interface BaseCopying {
  workDir: string;
  runOptions: RunOptions;
  info: (line: string) => void;
}

/** A base file the kernel can mount: a raw disk image, or a live ISO and where its squashfs lies. */
export type MountableBase = { kind: 'raw'; file: string } | { kind: 'iso'; file: string; squashfs: IsoFile };

export async function prepareBaseFile(copying: BaseCopying, file: string, base: BaseFile, handle: StepHandle): Promise<MountableBase> {
  copying.info(`base: ${describeBaseFile(file, base)}`);
  switch (base.kind) {
    case 'raw':
      return { kind: 'raw', file };
    case 'iso':
      return { kind: 'iso', file, squashfs: base.squashfs };
    case 'qcow2':
      return usableCopy(await convertQcow2(copying, file, base.info, handle));
    case 'compressed':
      return usableCopy(await decompressBase(copying, file, base, handle));
  }
}

async function convertQcow2(copying: BaseCopying, file: string, info: QemuImageInfo, handle: StepHandle): Promise<string> {
  const output = path.join(copying.workDir, 'base', 'disk.raw');
  await timedCopy(copying, handle, output, `qemu-img: converting ${path.basename(file)} (qcow2, ${formatBytes(info.actualSize)}) to raw`, () =>
    convertToRaw({ source: file, format: 'qcow2', output }, copying.runOptions),
  );
  return output;
}

async function decompressBase(copying: BaseCopying, file: string, base: Extract<BaseFile, { kind: 'compressed' }>, handle: StepHandle): Promise<string> {
  const size = formatBytes((await stat(file)).size);
  if (base.content === 'tar') {
    const directory = path.join(copying.workDir, 'base', 'archive');
    const output = path.join(directory, TAR_MEMBER);
    let extracted = output;
    await timedCopy(copying, handle, output, `${base.compression}: decompressing ${TAR_MEMBER} out of ${path.basename(file)} (${size})`, async () => {
      extracted = await extractTarMember({ source: file, compression: base.compression, member: TAR_MEMBER, directory }, copying.runOptions);
    });
    return extracted;
  }
  const output = path.join(copying.workDir, 'base', base.content === 'iso' ? 'base.iso' : 'disk.raw');
  await timedCopy(copying, handle, output, `${base.compression}: decompressing ${path.basename(file)} (${size})`, () =>
    decompressToFile({ source: file, compression: base.compression, output }, copying.runOptions),
  );
  return output;
}

/** Runs a copy into `output`, showing how much it wrote as it goes, then logs its size and time. */
async function timedCopy(copying: BaseCopying, handle: StepHandle, output: string, title: string, copy: () => Promise<void>): Promise<void> {
  mkdirSync(path.dirname(output), { recursive: true });
  copying.info(`${title} into the work folder`);
  const started = performance.now();
  const timer = setInterval(() => {
    stat(output).then(
      (stats) => handle.update(`${formatBytes(stats.blocks * 512)} written in ${formatSeconds((performance.now() - started) / 1000)}`),
      () => undefined,
    );
  }, 1000);
  try {
    await copy();
  } finally {
    clearInterval(timer);
  }
  const stats = await stat(output);
  copying.info(
    `${path.basename(output)}: ${formatBytes(stats.size)} (${formatBytes(stats.blocks * 512)} on disk) in ${formatSeconds((performance.now() - started) / 1000)}`,
  );
}

/** What a conversion or decompression made: checked again from its content, as the operator's file was. */
async function usableCopy(file: string): Promise<MountableBase> {
  const kind = await detectDiskImage(file);
  if (kind === 'raw') return { kind, file };
  if (kind === 'iso') return { kind, file, squashfs: await locateLiveSquashfs(file) };
  throw new VaubanError(`the image taken out of the base file is not a raw disk image nor a live ISO (found: ${kind})`);
}


