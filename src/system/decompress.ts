// xz and zstd, streamed: a compressed base is decompressed once, straight
// into a sparse file of the work folder, never held in memory. From a tar
// archive (Debian's *.tar.xz), the one member needed is taken out.
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { throwIfAborted, VaubanError } from '../errors.js';
import { run, type RunOptions } from './run.js';

export type StreamCompression = 'xz' | 'zstd';

/** The decompressor writing to stdout, as shell words; file names come as "$1", never spliced in. */
const DECOMPRESS: Record<StreamCompression, string> = {
  // -T0: several threads when the file was made in blocks (xz -T), one otherwise.
  xz: 'xz --decompress --stdout --threads=0 --',
  zstd: 'zstd --decompress --stdout --quiet --',
};

/** The first `bytes` bytes of what `file` decompresses to (fewer when it is shorter or damaged). */
export async function peekDecompressed(file: string, compression: StreamCompression, bytes: number, runOptions: RunOptions = {}): Promise<Buffer> {
  // head stops reading after `bytes`: the decompressor then dies of SIGPIPE, which is expected here.
  const { stdoutBytes } = await run('bash', ['-c', `${DECOMPRESS[compression]} "$1" 2>/dev/null | head -c "$2"`, 'peek', file, String(bytes)], {
    ...runOptions,
    binary: true,
  });
  return Buffer.from(stdoutBytes ?? new Uint8Array());
}

export interface DecompressOptions {
  source: string;
  compression: StreamCompression;
  output: string;
}

/**
 * Decompresses `source` into `output`. One process writing straight to the
 * file: it leaves holes where the image has runs of zeros (both tools do when
 * their output is a regular file), and a Ctrl-C (SIGTERM) stops it at once
 * (a shell pipeline would leave its members running).
 */
export async function decompressToFile(options: DecompressOptions, runOptions: RunOptions = {}): Promise<void> {
  if (options.compression === 'zstd') {
    await run('zstd', ['--decompress', '--quiet', '-o', options.output, '--', options.source], runOptions);
    return;
  }
  // xz has no -o: its stdout is the file (exec: the shell becomes xz, so a signal reaches xz itself).
  await run('bash', ['-c', 'exec xz --decompress --stdout --threads=0 -- "$1" > "$2"', 'xz', options.source, options.output], runOptions);
}

export interface ExtractMemberOptions {
  source: string;
  compression: StreamCompression;
  member: string;
  /** An empty folder of ours to extract into. */
  directory: string;
}

/**
 * Takes one member out of a compressed tar archive (tar runs the
 * decompressor); a sparse member stays sparse. Returns its path, refusing
 * anything but a plain file: the archive is not ours, and a link named like
 * the member would make vauban read a file of the host.
 */
export async function extractTarMember(options: ExtractMemberOptions, runOptions: RunOptions = {}): Promise<string> {
  const args = ['--extract', `--${options.compression}`, '--file', options.source, '--directory', options.directory, '--no-same-owner', '--no-same-permissions', '--', options.member];
  const result = await run('tar', args, { ...runOptions, allowFailure: true });
  if (result.exitCode !== 0) {
    throwIfAborted(runOptions.signal);
    if (/Not found in archive/.test(result.stderr)) throw new VaubanError(`${options.source} is a tar archive without ${options.member}`);
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    throw new VaubanError(`taking ${options.member} out of ${options.source} failed (tar, exit status ${result.exitCode}): ${tail}`);
  }
  const file = path.join(options.directory, options.member);
  const stats = lstatSync(file, { throwIfNoEntry: false });
  if (stats === undefined || !stats.isFile() || stats.nlink !== 1) {
    throw new VaubanError(`${options.member} in ${options.source} is not a plain file (a link or a folder): refused`);
  }
  return file;
}
