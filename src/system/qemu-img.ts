// qemu-img, to read qcow2 images without the kernel's nbd driver: inspected,
// then converted to a sparse raw file. The source is only ever read.
import { VaubanError } from '../errors.js';
import { run, type RunOptions } from './run.js';

export interface QemuImageInfo {
  format: string;
  /** Size of the disk the image holds, and bytes the image file takes. */
  virtualSize: number;
  actualSize: number;
  /** Other host files the image refers to (a backing file, an external data file). */
  references: string[];
}

export async function inspectQemuImage(file: string, format: string, runOptions: RunOptions = {}): Promise<QemuImageInfo> {
  // -U (force share): reading needs no lock, so an image in use elsewhere can still be inspected.
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', '-f', format, file], runOptions);
  let info: {
    format?: string;
    'virtual-size'?: number;
    'actual-size'?: number;
    'backing-filename'?: string;
    'format-specific'?: { data?: { 'data-file'?: string } };
  };
  try {
    info = JSON.parse(stdout);
  } catch (error) {
    throw new VaubanError(`qemu-img info ${file} printed no JSON`, { cause: error });
  }
  const references = [info['backing-filename'], info['format-specific']?.data?.['data-file']].filter((name): name is string => name !== undefined);
  return { format: info.format ?? format, virtualSize: info['virtual-size'] ?? 0, actualSize: info['actual-size'] ?? 0, references };
}

export interface ConvertOptions {
  source: string;
  format: string;
  output: string;
}

/** Converts an image to a raw file; runs of zeros stay holes (qemu-img's default -S 4k). */
export async function convertToRaw(options: ConvertOptions, runOptions: RunOptions = {}): Promise<void> {
  await run('qemu-img', ['convert', '-U', '-f', options.format, '-O', 'raw', options.source, options.output], runOptions);
}
