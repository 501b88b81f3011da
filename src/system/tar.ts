// Tar streams made by GNU tar: it keeps owners, modes, hard links,
// device nodes and extended attributes as they are, which a root file system needs.
import type { Readable } from 'node:stream';
import { VaubanError } from '../errors.js';
import { childEnv } from './run.js';

export interface TarStream {
  stream: Readable;
  /** Resolves when tar has finished; rejects with its error output. */
  done: Promise<void>;
  /** Stops tar (its reader failed): a tar blocked on a full pipe would keep the run alive. */
  kill: () => void;
}

/**
 * Feeds the archive to `consumer` and waits for both. When the consumer fails
 * (the engine refused the archive, say), tar is stopped and the consumer's
 * error is the one thrown.
 */
export async function consumeTar<T>(tar: TarStream, consumer: (stream: Readable) => Promise<T>): Promise<T> {
  try {
    const [result] = await Promise.all([consumer(tar.stream), tar.done]);
    return result;
  } catch (error) {
    tar.kill();
    await tar.done.catch(() => undefined);
    throw error;
  }
}

export interface CreateTarOptions {
  /** Paths (relative, as tar sees them: ./var/log) left out. */
  exclude?: string[];
  /** Stay on one file system: never walk into a mount below the folder. */
  oneFileSystem?: boolean;
  signal?: AbortSignal;
}

/** Streams the content of `dir` as a tar archive. */
export async function createTarStream(dir: string, options: CreateTarOptions = {}): Promise<TarStream> {
  const args = ['--create', '--file=-', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', `--directory=${dir}`];
  if (options.oneFileSystem) args.push('--one-file-system');
  for (const pattern of options.exclude ?? []) args.push(`--exclude=${pattern}`);
  args.push('.');
  return runTar(args, `tar of ${dir}`, options.signal);
}

/** Streams `names` (files or folders of `parent`) as a tar owned by root, as a Docker build context would carry them. */
export async function createTarOf(parent: string, names: string[], options: { signal?: AbortSignal } = {}): Promise<TarStream> {
  return runTar(['--create', '--file=-', '--owner=0', '--group=0', '--numeric-owner', `--directory=${parent}`, '--', ...names], `tar of ${names.join(' ')} in ${parent}`, options.signal);
}

/**
 * Runs GNU tar with `args` (which write the archive to stdout). Its output is
 * piped at once into the stream returned: execa resumes an unread stdout on
 * the next turn of the event loop, and a consumer that attaches later (an
 * HTTP request still connecting, say) would miss the archive's first blocks.
 */
export async function runTar(args: string[], what: string, signal?: AbortSignal): Promise<TarStream> {
  const { execa } = await import('execa');
  const { PassThrough } = await import('node:stream');
  const child = execa('tar', args, { buffer: { stdout: false, stderr: true }, cancelSignal: signal, reject: false, env: childEnv(), extendEnv: false });
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  (child.stdout as Readable).pipe(stream);
  const done = child.then((result) => {
    if (result.exitCode !== 0) {
      throw new VaubanError(`${what} failed (exit status ${result.exitCode}): ${String(result.stderr).trim().split('\n').slice(-5).join('\n')}`);
    }
  });
  const kill = (): void => {
    child.kill('SIGKILL');
    stream.destroy();
  };
  return { stream, done, kill };
}
