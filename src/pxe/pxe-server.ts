// A PXE server as the upload, promote and rollback see it: UPLOAD_DIR on a
// machine reached over ssh (with sudo when the ssh user cannot write there),
// or a local folder (`vauban boot` lays its served folder out with the same
// code). Work is sent as POSIX shell scripts on standard input: one round trip
// per phase, no length limit, and nothing of it in a process argument list.
import { VaubanError } from '../errors.js';
import { shellQuote } from '../system/shell-quote.js';
import { run, type RunOptions, type RunResult } from '../system/run.js';
import { sshRun, type SshTarget } from '../system/ssh.js';

export interface PxeServer {
  /** For messages: the ssh destination, or the local folder. */
  readonly name: string;
  /** UPLOAD_DIR there (absolute). */
  readonly dir: string;
  /** Runs a shell script there (`sh -e`, as root when the user needs sudo); rejects on failure unless allowFailure. */
  script(lines: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Streams a local file into `path` there (created or truncated). */
  send(local: string, path: string, options?: RunOptions): Promise<void>;
  /**
   * Holds the lock of `file` there (flock(2), one writer per master, issue 30)
   * until the returned function is called; `onWaiting` when another holds it.
   * The lock belongs to a process that lives as long as its connection: a run
   * that dies, however, lets it go.
   */
  lock(file: string, onWaiting: () => void): Promise<() => Promise<void>>;
  /** Run options of the command using this server (abort signal, debug log): the default of script() and send(). */
  readonly runOptions: RunOptions;
}

/** Words quoted for the server's shell, joined. */
export function sh(...words: string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * Modes of what is served: private keys are in rootfs and conffs, readable by
 * the web server's group only (A9). Never through a link (these run as root):
 * chgrp -h changes a link itself, and chmod, which has no such flag, is given
 * only what find saw is no link.
 */
export function protect(paths: string[], group: string | undefined, mode: string): string[] {
  if (paths.length === 0) return [];
  return [
    `find -P ${sh('--', ...paths)} -maxdepth 0 ! -type l -exec chmod ${sh(mode)} -- {} +`,
    ...(group === undefined ? [] : [sh('chgrp', '-h', group, '--', ...paths)]),
  ];
}

/**
 * Writes its standard input to `file` as a new file, 0640 from its creation:
 * never through a link and never over anything already there (dd's excl and
 * nofollow: O_EXCL, O_NOFOLLOW), where `>` or tee would follow a planted link.
 */
export function newFileCommand(file: string): string {
  return `(umask 027 && exec dd ${sh(`of=${file}`)} conv=excl oflag=nofollow bs=1M status=none)`;
}

/** How long a run waits for another run's lock on a server: a publish takes minutes, not half an hour. */
const LOCK_WAIT_SECONDS = 1800;

/**
 * The shell command that takes the lock of `file` and holds it while its
 * standard input stays open (the connection's): `waiting` when another holds
 * it, `locked` once taken; exit 76 after LOCK_WAIT_SECONDS.
 */
export function lockCommand(file: string): string {
  const hold = `'echo locked; exec cat >/dev/null'`;
  const folder = file.slice(0, file.lastIndexOf('/')) || '/';
  return `mkdir -p -- ${sh(folder)} && { flock -n -E 75 ${sh(file)} -c ${hold} || { [ $? = 75 ] && echo waiting && exec flock -w ${LOCK_WAIT_SECONDS} -E 76 ${sh(file)} -c ${hold}; }; }`;
}

/**
 * Runs `start` (a lock command's process, given its abort signal and line
 * handler) until told to stop; resolves once it says `locked`, with what
 * releases it (its input closed, then the process stopped).
 */
async function holdLock(file: string, where: string, onWaiting: () => void, start: (signal: AbortSignal, onLine: (line: string) => void) => Promise<RunResult>): Promise<() => Promise<void>> {
  const holder = new AbortController();
  let locked: (() => void) | undefined;
  const taken = new Promise<void>((resolve) => (locked = resolve));
  const running = start(holder.signal, (line) => {
    if (line === 'waiting') onWaiting();
    if (line === 'locked') locked?.();
  });
  // The holder ending before it said `locked` (a failure passes through as it is).
  const ended = running.then((result) => {
    throw new VaubanError(
      result.exitCode === 76
        ? `${where}: another vauban run held the lock ${file} for ${LOCK_WAIT_SECONDS / 60} minutes: given up`
        : `${where}: cannot take the lock ${file}: ${result.stderr.trim().split('\n').at(-1) ?? `exit status ${result.exitCode}`}`,
    );
  });
  ended.catch(() => undefined);
  await Promise.race([taken, ended]);
  return async () => {
    holder.abort();
    await running.catch(() => undefined);
  };
}

/** What ssh said, as one line; a host key that does not match UPLOAD_KNOWN_HOSTS said as such. */
export function sshFailure(stderr: string, exitCode: number): string {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
    return 'its host key is not one of UPLOAD_KNOWN_HOSTS (or of your known_hosts): host key verification failed';
  }
  return stderr.trim().split('\n').at(-1) ?? `exit status ${exitCode}`;
}

export interface OpenSshServerInput {
  target: SshTarget;
  dir: string;
  /** Folders under `dir` this command writes: made when missing, and tested for write access (sudo otherwise). None: the command only reads `dir` (vauban list), made nowhere. */
  folders: string[];
  runOptions: RunOptions;
  onSudo?: () => void;
}

/** A PXE server over ssh; sudo (passwordless, -n) only when the ssh user cannot write the folders, as vauban.sh did. */
export async function openSshServer(input: OpenSshServerInput): Promise<PxeServer> {
  const { target, dir, runOptions } = input;
  const folders = input.folders.map((folder) => `${dir}/${folder}`);
  const readOnly = folders.length === 0;
  const probe = readOnly ? `${sh('test', '-r', dir)} && ${sh('test', '-x', dir)}` : [sh('mkdir', '-p', '--', ...folders), ...folders.map((folder) => sh('test', '-w', folder))].join(' && ');
  const direct = await sshRun(target, probe, { ...runOptions, allowFailure: true });
  if (direct.exitCode === 255) throw new VaubanError(`cannot reach or log in to the PXE server ${target.destination} over ssh: ${sshFailure(direct.stderr, direct.exitCode)}`);
  const sudo = direct.exitCode !== 0;
  const shell = sudo ? 'sudo -n sh -e' : 'sh -e';
  if (sudo) {
    const check = await sshRun(target, `sudo -n ${readOnly ? `${sh('test', '-d', dir)}` : sh('mkdir', '-p', '--', ...folders)}`, { ...runOptions, allowFailure: true });
    if (check.exitCode !== 0) {
      throw new VaubanError(`${target.destination}: the ssh user cannot ${readOnly ? 'read' : 'write'} ${dir} and has no passwordless sudo: ${check.stderr.trim().split('\n').at(-1) || 'no such folder'}`);
    }
    input.onSudo?.();
  }
  return {
    name: target.destination,
    dir,
    runOptions,
    script: (lines, options = runOptions) => {
      options.debug?.(`script for ${target.destination}:\n${lines.join('\n')}`);
      return sshRun(target, shell, { ...options, input: `${lines.join('\n')}\n` });
    },
    send: async (local, path, options = runOptions) => {
      await sshRun(target, `${sudo ? 'sudo -n ' : ''}sh -c ${sh(newFileCommand(path))}`, { ...options, inputFile: local });
    },
    lock: (file, onWaiting) =>
      holdLock(file, target.destination, onWaiting, (signal, onLine) =>
        sshRun(target, `${sudo ? 'sudo -n ' : ''}sh -c ${sh(lockCommand(file))}`, { debug: runOptions.debug, signal, onLine, allowFailure: true }),
      ),
  };
}

/** A folder of this machine laid out as a PXE server (for `vauban boot` and tests). */
export function openLocalServer(dir: string, runOptions: RunOptions = {}): PxeServer {
  return {
    name: dir,
    dir,
    runOptions,
    script: (lines, options = runOptions) => {
      options.debug?.(`script for ${dir}:\n${lines.join('\n')}`);
      return run('/bin/sh', ['-e'], { ...options, input: `${lines.join('\n')}\n` });
    },
    send: async (local, path, options = runOptions) => {
      await run('cp', ['--', local, path], options);
    },
    lock: (file, onWaiting) => holdLock(file, dir, onWaiting, (signal, onLine) => run('sh', ['-c', lockCommand(file)], { debug: runOptions.debug, signal, onLine, allowFailure: true })),
  };
}
