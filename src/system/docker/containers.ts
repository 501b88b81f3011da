// Docker containers through the Engine API only (no path into the engine's
// storage), so the same calls work against a remote DOCKER_HOST.
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { VaubanError } from '../../errors.js';
import type { DockerClient } from './client.js';

/** A PID 1 that only waits (for execs), and exits at once on TERM. */
export const SLEEP_UNTIL_TERM = 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done';

/** The content of one file of an image (read through a container that is never started). */
export async function readFileFromImage(docker: DockerClient, image: string, file: string): Promise<Buffer> {
  const container = await docker.createContainer({ Image: image, Cmd: ['/bin/true'], Labels: { 'vauban.read': file } });
  try {
    return await readFileFromContainer(container, file);
  } finally {
    await container.remove({ force: true });
  }
}

/** One file of a container (created or running); the engine answers 404 when it does not exist. */
export async function readFileFromContainer(container: Dockerode.Container, file: string): Promise<Buffer> {
  const archive = (await container.getArchive({ path: file })) as unknown as Readable;
  const tarStream = await import('tar-stream');
  const extract = tarStream.extract();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (_header, stream, next) => {
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    archive.pipe(extract);
  });
  // The end-of-archive padding may still be unread: the connection is closed either way.
  archive.destroy();
  return Buffer.concat(chunks);
}

/**
 * True when `file` exists in the container. A GET of the archive API, closed
 * at once: the HEAD form leaves its connection open in docker-modem, which
 * keeps the process alive after its work is done.
 */
export async function pathExists(container: Dockerode.Container, file: string): Promise<boolean> {
  try {
    const archive = (await container.getArchive({ path: file })) as unknown as Readable;
    archive.destroy();
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

/** Extracts a tar stream into the container at `dir` (PUT archive). */
export async function putArchive(container: Dockerode.Container, tar: Readable | Buffer, dir: string): Promise<void> {
  await container.putArchive(tar as never, { path: dir });
}

export interface ExecOptions {
  cmd: string[];
  env?: Record<string, string>;
  /** Sent on the process' standard input (a stream as it comes), then closed. */
  stdin?: string | Buffer | Readable;
  /** Each line of stdout and stderr, as it comes. */
  onLine?: (line: string) => void;
  /** The raw stdout stream instead of lines (a tar, say); stderr still goes to onLine. */
  onStdout?: (stdout: Readable) => Promise<void>;
  signal?: AbortSignal;
}

/** A started exec: its hijacked stream, and its stdout and stderr demultiplexed. */
interface StartedExec {
  exec: Dockerode.Exec;
  stream: NodeJS.ReadWriteStream & Readable;
  stdout: PassThrough;
  stderr: PassThrough;
}

async function startExec(docker: DockerClient, container: Dockerode.Container, options: { cmd: string[]; env?: Record<string, string>; workingDir?: string; stdin: boolean }): Promise<StartedExec> {
  const exec = await container.exec({
    Cmd: options.cmd,
    Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
    ...(options.workingDir === undefined ? {} : { WorkingDir: options.workingDir }),
    AttachStdin: options.stdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream = (await exec.start({ hijack: true, stdin: options.stdin })) as unknown as NodeJS.ReadWriteStream & Readable;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  return { exec, stream, stdout, stderr };
}

/**
 * Waits until the exec's stream ends and `consumers` have read its output (an
 * abort of `signal` cuts it), then resolves with the command's exit code.
 */
async function exitCodeOf(container: Dockerode.Container, started: StartedExec, consumers: Promise<void>[], what: string, signal?: AbortSignal): Promise<number> {
  const { exec, stream, stdout, stderr } = started;
  // A reader that gives up (a line too long, a line its protocol refuses) cuts the stream: nobody reads what follows.
  consumers = consumers.map((consumer) => {
    const read = consumer.catch((error: unknown) => {
      stream.destroy(error instanceof Error ? error : new VaubanError(String(error)));
      throw error;
    });
    // Awaited below, once the stream has ended: until then its failure is not unhandled.
    read.catch(() => undefined);
    return read;
  });
  const onAbort = (): void => {
    stream.destroy(new VaubanError('interrupted', { exitCode: 130 }));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    stdout.end();
    stderr.end();
    await Promise.all(consumers);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // The hijacked connection is ours to close: left half-open, it would keep the process alive.
    stream.destroy();
  }
  // The exit code is known shortly after the stream ends.
  for (let attempt = 0; attempt < 100; attempt++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new VaubanError(`${what} in container ${container.id.slice(0, 12)}: no exit code`);
}

/** Runs a command in a running container; resolves with its exit code. */
/**
 * runc's own failures to start an exec'd process under load (the process
 * never ran: nothing to undo), seen on a 2-core machine running three
 * vauban runs at once: "error writing config to pipe: write init-p: broken pipe".
 */
const TRANSIENT_EXEC_FAILURE = /^OCI runtime exec failed: .*(broken pipe|resource temporarily unavailable|connection reset by peer)/;
const EXEC_ATTEMPTS = 3;

export async function execInContainer(docker: DockerClient, container: Dockerode.Container, options: ExecOptions): Promise<number> {
  // An input that can be sent again, and output read as lines: the command can be started again.
  const replayable = options.onStdout === undefined && (options.stdin === undefined || typeof options.stdin === 'string' || Buffer.isBuffer(options.stdin));
  for (let attempt = 1; ; attempt++) {
    let lines = 0;
    let transient = true;
    const onLine = (line: string): void => {
      lines++;
      if (!TRANSIENT_EXEC_FAILURE.test(line)) transient = false;
      options.onLine?.(line);
    };
    const code = await execOnce(docker, container, { ...options, onLine });
    if (!(replayable && code === 126 && lines > 0 && transient && attempt < EXEC_ATTEMPTS) || options.signal?.aborted) return code;
    await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
  }
}

async function execOnce(docker: DockerClient, container: Dockerode.Container, options: ExecOptions): Promise<number> {
  const started = await startExec(docker, container, { cmd: options.cmd, env: options.env, stdin: options.stdin !== undefined });
  const { stream, stdout, stderr } = started;
  const lines = (source: Readable): Promise<void> => readLines(source, options.onLine ?? (() => undefined));
  const consumers = [options.onStdout ? options.onStdout(stdout) : lines(stdout), lines(stderr)];
  // Half-close: the command sees the end of its input while its output still flows.
  if (typeof options.stdin === 'string' || Buffer.isBuffer(options.stdin)) {
    (stream as unknown as { end: (data: string | Buffer) => void }).end(options.stdin);
  } else if (options.stdin !== undefined) {
    const input = options.stdin;
    input.once('error', (error) => stream.destroy(error));
    input.pipe(stream as unknown as NodeJS.WritableStream);
  }
  return exitCodeOf(container, started, consumers, options.cmd.join(' '), options.signal);
}

export interface ExecSessionOptions {
  cmd: string[];
  env?: Record<string, string>;
  workingDir?: string;
  /** Each line of stderr, as it comes. */
  onStderrLine: (line: string) => void;
  /** Each line of stdout, as it comes (a line protocol). */
  onStdoutLine: (line: string) => void;
  signal?: AbortSignal;
}

/** A command running in a container that vauban talks with: its standard input stays open until end(). */
export interface ExecSession {
  /** Writes to the command's standard input. */
  write(data: string | Buffer): void;
  /** Sends a stream (a tar) on the standard input, without closing it afterwards. */
  send(stream: Readable): Promise<void>;
  /** Closes the command's standard input. */
  end(): void;
  /** The command's exit code, once it has exited and its output is read. */
  exited: Promise<number>;
}

/** Starts a command in a running container with its standard input and output kept open: a dialogue. */
export async function openExecSession(docker: DockerClient, container: Dockerode.Container, options: ExecSessionOptions): Promise<ExecSession> {
  const started = await startExec(docker, container, { cmd: options.cmd, env: options.env, workingDir: options.workingDir, stdin: true });
  const consumers = [readLines(started.stdout, options.onStdoutLine), readLines(started.stderr, options.onStderrLine)];
  const exited = exitCodeOf(container, started, consumers, options.cmd[0] ?? 'command', options.signal);
  // Read by whoever awaits it; never an unhandled rejection meanwhile.
  exited.catch(() => undefined);
  const writable = started.stream as unknown as NodeJS.WritableStream & { end: () => void };
  return {
    write: (data) => {
      // Once the session is cut (its command ended, its output refused), there is nobody to write to.
      if (!(writable as unknown as { destroyed: boolean }).destroyed) writable.write(data);
    },
    send: (input) =>
      new Promise<void>((resolve, reject) => {
        input.once('error', reject);
        input.once('end', resolve);
        input.pipe(writable, { end: false });
      }),
    end: () => writable.end(),
    exited,
  };
}

/** What a command run by execCapture wrote: its exit code, its whole stdout, its stderr lines. */
export interface CapturedExec {
  code: number;
  stdout: Buffer;
  stderr: string[];
}

/** Runs a command in a running container and keeps its whole standard output (a listing, a document). */
export async function execCapture(docker: DockerClient, container: Dockerode.Container, options: Omit<ExecOptions, 'onStdout' | 'onLine'>): Promise<CapturedExec> {
  const chunks: Buffer[] = [];
  const stderr: string[] = [];
  const code = await execInContainer(docker, container, {
    ...options,
    onStdout: async (stream) => {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    },
    onLine: (line) => stderr.push(line),
  });
  return { code, stdout: Buffer.concat(chunks), stderr };
}

/**
 * The longest line a line protocol takes: a file sent whole in base64 (a
 * play's copy of a large file) stays under it, garbage never grows past it
 * (V8's strings end at 512 MiB anyway).
 */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

/**
 * Each line of `source` to `onLine`, split on bytes (a character cut between
 * two chunks stays whole). A line longer than `maxLine`, or an error thrown by
 * `onLine`, ends the reading with that error.
 */
export async function readLines(source: AsyncIterable<Buffer | string>, onLine: (line: string) => void, maxLine = MAX_LINE_BYTES): Promise<void> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const data of source) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, end));
      const line = Buffer.concat(pending).toString('utf8');
      pending = [];
      size = 0;
      start = end + 1;
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      size += chunk.length - start;
      if (size > maxLine) throw new VaubanError(`a line of more than ${maxLine >> 20} MiB without an end: not a line protocol's (it begins ${JSON.stringify(Buffer.concat(pending).subarray(0, 60).toString('utf8'))})`);
    }
  }
  if (size > 0) onLine(Buffer.concat(pending).toString('utf8'));
}

export interface CommitOptions {
  /** The image reference to create. */
  reference: string;
  /** Configuration of the image (Cmd, Env, Labels...): what the engine merges over the container's. */
  config: Record<string, unknown>;
  comment: string;
}

/** `docker commit`: the container's file system becomes an image; resolves with its id. */
export async function commitContainer(container: Dockerode.Container, options: CommitOptions): Promise<string> {
  const { repository, tag } = splitReference(options.reference);
  const result = (await (container.commit as (options: unknown) => Promise<unknown>)({
    _query: { container: container.id, repo: repository, tag, comment: options.comment, pause: false },
    _body: options.config,
  })) as { Id?: string };
  if (result.Id === undefined) throw new VaubanError(`docker commit of ${options.reference} returned no image id`);
  return result.Id;
}

/** Removes a container, waiting until the engine has really let it go. */
export async function removeContainer(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (error) {
    // 404: already gone; 409: the engine is removing it itself.
    if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await docker.getContainer(id).inspect();
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** vauban-<role>-<run>-<detail>-<random>: whose container it is, for the run's last sweep. */
const RUN_CONTAINER_NAME = /^vauban-[a-z]+-([a-z0-9]+)-/;

/** The name of a container this run creates: its role (stage, hosts), the run's id, and what it is for. */
export function runContainerName(role: 'stage' | 'hosts', runId: string, detail?: string): string {
  const suffix = randomBytes(3).toString('hex');
  return `vauban-${role}-${runId}-${detail === undefined ? '' : `${detail.replace(/[^a-zA-Z0-9_.-]/g, '_')}-`}${suffix}`;
}

/**
 * Removes every container whose name carries `runId` (vauban-stage-<run>-…,
 * vauban-hosts-<run>-…): the last safety net of a run's cleanup. A create
 * request cut by an interruption can leave a container the run never got
 * the id of; its name still says whose it is. Returns the names removed.
 */
export async function removeRunContainers(docker: DockerClient, runId: string): Promise<string[]> {
  const listed = await docker.listContainers({ all: true, filters: { name: [`-${runId}-`] } });
  const ours = listed.filter((info) => info.Names.some((name) => RUN_CONTAINER_NAME.exec(name.replace(/^\//, ''))?.[1] === runId));
  for (const info of ours) await removeContainer(docker, info.Id);
  return ours.map((info) => (info.Names[0] ?? info.Id).replace(/^\//, ''));
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

export function splitReference(reference: string): { repository: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  return colon > slash ? { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) } : { repository: reference, tag: 'latest' };
}
