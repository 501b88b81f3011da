// The single entry point for every external program vauban runs. It logs the
// argument list at debug level, gives the program an allow-listed environment,
// and turns any failure into a VaubanError that names the command, its exit
// status and the tail of its error output.
import type { Options } from 'execa';
import { shellJoin } from './shell-quote.js';
import { VaubanError } from '../errors.js';

export interface RunOptions {
  /** Text or bytes written to the program's standard input (secrets go here, never in argv). */
  input?: string | Uint8Array;
  /** A file streamed to the program's standard input. */
  inputFile?: string;
  /** With inputFile: called with the bytes of it written so far, as they go (an upload's progress). */
  onInputBytes?: (sent: number) => void;
  cwd?: string;
  /** Variables for this program only, over the allow-listed environment (childEnv). */
  env?: Record<string, string | undefined>;
  /** Called with each line the program prints (stdout and stderr), as it prints it. */
  onLine?: (line: string) => void;
  /** Stops the program (SIGTERM, then SIGKILL after 5 s) when aborted. */
  signal?: AbortSignal;
  /** Debug logger; receives the command line before it runs. */
  debug?: (message: string) => void;
  /** Return the result instead of throwing when the exit status is not 0. */
  allowFailure?: boolean;
  /** Capture stdout as a Buffer instead of a string. */
  binary?: boolean;
  /** Open file descriptors of ours the program gets as its fd 3, 4, ... (flock(1) locks ours this way). */
  passFds?: number[];
  /**
   * The program's umask, when it must not be the run's (077): 0o022 for what
   * makes content others read (apt and dracut in a chroot, debootstrap, the
   * Ansible working copies that go into images).
   */
  umask?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** With `binary`: stdout as bytes, untouched. */
  stdoutBytes?: Uint8Array;
}

const STDERR_TAIL_LINES = 15;

// What a child may see of vauban's own environment: enough to find programs,
// speak a locale, reach a proxy and the operator's ssh agent. Never the
// settings and their secrets (REGISTRY_PASSWORD, VAULTED_SSHD_KEYS_KEY,
// DOT_SECRETS_ENV, CI tokens...): apt's maintainer scripts, dracut, git and
// ansible have no business with them.
const ALLOWED_ENV = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TERM', 'TZ', 'TMPDIR', 'SSH_AUTH_SOCK',
  'http_proxy', 'https_proxy', 'no_proxy', 'ftp_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'FTP_PROXY',
]);

/** The environment of a child process: the allow-listed part of `base`, then `extra` (undefined removes a key). */
export function childEnv(extra: Record<string, string | undefined> = {}, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && (ALLOWED_ENV.has(key) || key.startsWith('LC_'))) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  if (env.PATH !== undefined) env.PATH = withSbin(env.PATH);
  return env;
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** `pathVariable` and, after it, the sbin folders a user's PATH (Debian's default) lacks: losetup, sfdisk, mkfs.* and debootstrap live there. */
export function withSbin(pathVariable: string): string {
  const folders = pathVariable.split(':');
  return [...folders, ...SBIN.filter((folder) => !folders.includes(folder))].join(':');
}

/** Runs `command args...`; resolves with its output, rejects with a VaubanError. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { execa } = await import('execa');
  options.debug?.(`$ ${formatCommand(command, args)}`);
  // A umask of its own: through sh, so that no other file of this process is ever made with it.
  const [file, argv] =
    options.umask === undefined ? [command, args] : ['/bin/sh', ['-c', `umask ${options.umask.toString(8).padStart(3, '0')} && exec "$0" "$@"`, command, ...args]];
  // The file counted as it goes through: a transform of execa's on the way to the program's stdin.
  const onInputBytes = options.onInputBytes;
  let sent = 0;
  const countedInput: Options['stdin'] | undefined =
    options.inputFile === undefined || onInputBytes === undefined
      ? undefined
      : [
          { file: options.inputFile },
          {
            *transform(chunk: unknown) {
              sent += (chunk as Uint8Array).length;
              onInputBytes(sent);
              yield chunk;
            },
            binary: true,
          },
        ];
  const subprocess = execa(file, argv, {
    input: options.input,
    ...(countedInput === undefined ? { inputFile: options.inputFile } : { stdin: countedInput }),
    cwd: options.cwd,
    env: childEnv(options.env),
    extendEnv: false,
    reject: false,
    stripFinalNewline: !options.binary,
    encoding: options.binary ? 'buffer' : 'utf8',
    cancelSignal: options.signal,
    forceKillAfterDelay: 5000,
    // Lines are split by execa so onLine gets whole lines.
    lines: false,
    maxBuffer: 256 * 1024 * 1024,
    // A number at stdio[3+] passes that descriptor of ours (execa's types only name 3 to 9).
    ...(options.passFds?.length ? { stdio: ['pipe', 'pipe', 'pipe', ...options.passFds] as unknown as Options['stdio'] } : {}),
  });
  if (options.onLine) {
    const onLine = options.onLine;
    for (const stream of [subprocess.stdout, subprocess.stderr]) {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        // A lone carriage return ends a line too: a progress bar redrawn in place (mksquashfs -progress) gives one line a redraw.
        const lines = pending.split(/\r\n|\n|\r(?=.)/s);
        pending = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
      stream?.on('end', () => {
        if (pending) onLine(pending);
      });
    }
  }
  const result = await subprocess;
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : Buffer.from((result.stderr as Uint8Array | undefined) ?? []).toString('utf8');
  const stdoutBytes = result.stdout instanceof Uint8Array ? result.stdout : undefined;
  if (result.failed && !options.allowFailure) {
    throw toRunError(command, args, result, stderr, options.signal);
  }
  return { exitCode: result.exitCode ?? -1, stdout, stderr, stdoutBytes };
}

interface FailedResult {
  exitCode?: number | undefined;
  signal?: string | undefined;
  isCanceled?: boolean;
  code?: string | undefined;
  cause?: unknown;
  originalMessage?: string;
}

function toRunError(
  command: string,
  args: readonly string[],
  result: FailedResult,
  stderr: string,
  signal: AbortSignal | undefined,
): VaubanError {
  const shown = formatCommand(command, args, 120);
  if (result.code === 'ENOENT' || (result.exitCode === 127 && new RegExp(`\\b${command.replace(/[^\w/.-]/g, '')}: not found`).test(stderr))) {
    return new VaubanError(`${command} is not installed (needed to run: ${shown})`, {
      hint: `install the Debian package that provides ${command}`,
      cause: result.cause,
    });
  }
  if (result.isCanceled || signal?.aborted) {
    return new VaubanError(`${command} was interrupted`, { cause: signal?.reason, exitCode: 130 });
  }
  const status = result.exitCode !== undefined ? `exit status ${result.exitCode}` : `signal ${result.signal ?? '?'}`;
  const tail = stderr.split('\n').filter(Boolean).slice(-STDERR_TAIL_LINES).join('\n');
  return new VaubanError(`${shown} failed (${status})${tail ? `:\n${indent(tail)}` : ''}`);
}

/** The command line as a human would type it, for logs; long lines are cut. */
export function formatCommand(command: string, args: readonly string[], maxLength = Infinity): string {
  const text = shellJoin([command, ...args]);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
