// mksquashfs with vauban's options (A6): -noappend -always-use-fragments -no-exports.
import { VaubanError } from '../errors.js';
import { run, type RunOptions } from './run.js';

/** The squashfs compressions vauban offers (--compression, SQUASHFS_COMPRESSION). */
export type Compression = 'xz' | 'zstd';

export interface MakeSquashfsOptions {
  source: string;
  output: string;
  compression: Compression;
  /** Each redraw of mksquashfs' progress bar: blocks done, of the total, and the percentage (issue 31). */
  onProgress?: (progress: SquashfsProgress) => void;
}

export interface SquashfsProgress {
  done: number;
  total: number;
  percent: number;
}

/** A line of mksquashfs' progress bar (`[====|   ] 1234/5678  21%`), or undefined. */
export function parseSquashfsProgress(line: string): SquashfsProgress | undefined {
  const match = /\]\s+(\d+)\/(\d+)\s+(\d+)%\s*$/.exec(line);
  return match === null ? undefined : { done: Number(match[1]), total: Number(match[2]), percent: Number(match[3]) };
}

export async function makeSquashfs(options: MakeSquashfsOptions, runOptions: RunOptions = {}): Promise<void> {
  // -progress: the bar even when not on a terminal (mksquashfs 4.5 has no -percentage), read line by line.
  const args = [options.source, options.output, '-noappend', '-always-use-fragments', '-no-exports', options.onProgress === undefined ? '-no-progress' : '-progress', '-comp', options.compression];
  // zstd at level 6: ~15x faster than xz here for a little more size.
  if (options.compression === 'zstd') args.push('-Xcompression-level', '6');
  const onProgress = options.onProgress;
  const onLine =
    onProgress === undefined
      ? runOptions.onLine
      : (line: string) => {
          const progress = parseSquashfsProgress(line);
          if (progress !== undefined) onProgress(progress);
          else runOptions.onLine?.(line);
        };
  try {
    await run('mksquashfs', args, { ...runOptions, ...(onLine === undefined ? {} : { onLine }) });
  } catch (error) {
    if (/No space left on device/i.test((error as Error).message)) {
      throw new VaubanError(`no space left on device while writing ${options.output} (check the free space of VAUBAN_WORK_DIR)`, { cause: error });
    }
    throw error;
  }
}
