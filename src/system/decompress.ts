// xz and zstd, streamed: a compressed base is decompressed once, straight
// into a sparse file of the work folder (cp --sparse=always turns the runs of
// zeros of a disk image back into holes), never held in memory. For a tar
// archive (Debian's *.tar.xz), one member is taken out on the way.
import { run, type RunOptions } from './run.js';

export type StreamCompression = 'xz' | 'zstd';

/** The decompressor writing to stdout, as a shell word list. Arguments come as "$1", never spliced in. */
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
  /** Take this member out of a tar archive instead of the whole stream. */
  tarMember?: string;
  output: string;
}

/** Decompresses `source` into the sparse file `output`. */
export async function decompressToFile(options: DecompressOptions, runOptions: RunOptions = {}): Promise<void> {
  const extract = options.tarMember === undefined ? '' : ' | tar --extract --to-stdout --file=- -- "$3"';
  const script = `set -o pipefail; ${DECOMPRESS[options.compression]} "$1"${extract} | cp --sparse=always /dev/stdin "$2"`;
  await run('bash', ['-c', script, 'decompress', options.source, options.output, options.tarMember ?? ''], runOptions);
}
