// Turns the operator's base file into one the kernel can mount without
// drivers it may lack (iso9660, nbd): a raw disk image or a live ISO is used
// in place; a qcow2 image is converted, and a compressed download
// decompressed, once, into a sparse file of the run's work folder (removed
// with it). The operator's file is only ever read.
import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { VaubanError } from '../errors.js';
import type { StepHandle } from '../reporter.js';
import { formatSeconds } from '../reporter.js';
import { decompressToFile, extractTarMember } from '../system/decompress.js';
import { detectDiskImage } from '../system/disk-image.js';
import type { IsoFile } from '../system/iso9660.js';
import { convertToRaw, type QemuImageInfo } from '../system/qemu-img.js';
import { describeBaseFile, locateLiveSquashfs, TAR_MEMBER, type BaseFile } from './inspect-base-file.js';

/** A base file the kernel can mount: a raw disk image, or a live ISO and where its squashfs lies. */
export type MountableBase = { kind: 'raw'; file: string } | { kind: 'iso'; file: string; squashfs: IsoFile };

export async function prepareBaseFile(ctx: Context, file: string, base: BaseFile, handle: StepHandle): Promise<MountableBase> {
  ctx.reporter.info(`base: ${describeBaseFile(file, base)}`);
  switch (base.kind) {
    case 'raw':
      return { kind: 'raw', file };
    case 'iso':
      return { kind: 'iso', file, squashfs: base.squashfs };
    case 'qcow2':
      return usableCopy(await convertQcow2(ctx, file, base.info, handle));
    case 'compressed':
      return usableCopy(await decompressBase(ctx, file, base, handle));
  }
}

async function convertQcow2(ctx: Context, file: string, info: QemuImageInfo, handle: StepHandle): Promise<string> {
  const output = path.join(ctx.workDir, 'base', 'disk.raw');
  await timedCopy(ctx, handle, output, `qemu-img: converting ${path.basename(file)} (qcow2, ${formatBytes(info.actualSize)}) to raw`, () =>
    convertToRaw({ source: file, format: 'qcow2', output }, ctx.runOptions),
  );
  return output;
}

async function decompressBase(ctx: Context, file: string, base: Extract<BaseFile, { kind: 'compressed' }>, handle: StepHandle): Promise<string> {
  const size = formatBytes((await stat(file)).size);
  if (base.content === 'tar') {
    const directory = path.join(ctx.workDir, 'base', 'archive');
    const output = path.join(directory, TAR_MEMBER);
    let extracted = output;
    await timedCopy(ctx, handle, output, `${base.compression}: decompressing ${TAR_MEMBER} out of ${path.basename(file)} (${size})`, async () => {
      extracted = await extractTarMember({ source: file, compression: base.compression, member: TAR_MEMBER, directory }, ctx.runOptions);
    });
    return extracted;
  }
  const output = path.join(ctx.workDir, 'base', base.content === 'iso' ? 'base.iso' : 'disk.raw');
  await timedCopy(ctx, handle, output, `${base.compression}: decompressing ${path.basename(file)} (${size})`, () =>
    decompressToFile({ source: file, compression: base.compression, output }, ctx.runOptions),
  );
  return output;
}

/** Runs a copy into `output`, showing how much it wrote as it goes, then logs its size and time. */
async function timedCopy(ctx: Context, handle: StepHandle, output: string, title: string, copy: () => Promise<void>): Promise<void> {
  mkdirSync(path.dirname(output), { recursive: true });
  ctx.reporter.info(`${title} into the work folder`);
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
  ctx.reporter.info(
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

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
