// Per-host log files (A7): in a private folder (root's, 0700), each file 0600,
// opened without following a link, with the console's secret redaction. A
// shared, world-writable folder (vauban.sh's /tmp/vauban-logs) let any local
// user read the logs or plant links where root would then write.
import { closeSync, constants, createWriteStream, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { redactSecrets } from '../redact.js';

/** Makes `dir` (and its parents) and checks it is a private folder of ours: not a link, ours, 0700. */
export function ensurePrivateDir(dir: string): string {
  mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new VaubanError(`cannot make the log folder ${dir}`, { cause: error });
  }
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) {
    throw new VaubanError(`the log folder ${dir} is ${stat.isSymbolicLink() ? 'a link' : 'not a folder'}: refusing to write logs there`, {
      hint: 'point VAUBAN_LOG_DIR at a folder of root only (default /var/log/vauban)',
    });
  }
  const uid = process.getuid?.() ?? 0;
  if (stat.uid !== uid) {
    throw new VaubanError(`the log folder ${dir} belongs to uid ${stat.uid}, not to this user (${uid}): another user could read or replace the logs`, {
      hint: 'point VAUBAN_LOG_DIR at a folder of root only (default /var/log/vauban)',
    });
  }
  if ((stat.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
  return dir;
}

export interface LogFile {
  readonly path: string;
  /** Writes text as is, secrets replaced by ***. */
  write(text: string): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/**
 * Opens (or appends to) a log file: never through a link (O_NOFOLLOW), a
 * regular file of ours only, mode 0600. `secrets` are redacted from every write.
 */
export function openLogFile(file: string, options: { secrets: readonly string[] }): LogFile {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new VaubanError(`cannot open the log file ${file}${code === 'ELOOP' ? ': it is a link' : ''}`, { cause: error });
  }
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.uid !== (process.getuid?.() ?? 0)) {
    closeSync(fd);
    throw new VaubanError(`the log file ${file} is not a regular file of this user: refusing to write to it`);
  }
  fchmodSync(fd, 0o600);
  const stream = createWriteStream('', { fd, autoClose: true });
  // A full disk must not crash the run: the first error is kept for close().
  let failure: Error | undefined;
  stream.on('error', (error) => (failure ??= error));
  return {
    path: file,
    write: (text) => {
      if (failure === undefined) stream.write(redactSecrets(text, options.secrets));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        stream.once('close', () => (failure ? reject(new VaubanError(`cannot write the log file ${file}: ${failure.message}`, { cause: failure })) : resolve()));
        stream.end();
      }),
  };
}
