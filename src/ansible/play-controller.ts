// The shared Ansible controller of conffs hosts (issue 11): one container of
// the hosts' source image, the stage's branch at /root/ansible, running
// play/controller.py. It loads Ansible once and forks one ansible-playbook a
// host, each that host's own play (its -l, its run_once, its play_hosts);
// what their `local` connection would do is relayed here to the agent in the
// host's own container (play/agent.py, run by stage.sh), so every task runs
// where a stage build runs it. A host's play then costs a third less CPU than
// its own ansible-playbook in its container (16 hosts on 2 cores, measured):
// Python's and Ansible's start is paid once. Everything goes through the
// Engine API: a remote DOCKER_HOST works as a local one.
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import type Dockerode from 'dockerode';
import type { Commit } from './repository.js';
import type { AnsibleRuntime } from './runtime.js';
import { VaubanError } from '../errors.js';
import { sha256Hex } from '../cache/inputs.js';
import { imageInit, stageEnv } from './stage-container.js';
import { controllerEnv, parseChannelLine, type PlayHello, type PlayMessage, type PlayRelay } from './play-channel.js';
import { openExecSession, putArchive, removeContainer, runContainerName, SLEEP_UNTIL_TERM, execCapture, type ExecSession } from '../system/docker/containers.js';

interface HostPlay {
  /** Sends a request to the host's agent. */
  toAgent: (message: PlayMessage) => void;
  onLine: (line: string) => void;
  done: (code: number) => void;
}

/** What one of Ansible's commands run by the controller printed, and its exit status. */
export interface CommandOutput {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

export class PlayController implements PlayRelay {
  private readonly plays = new Map<string, HostPlay>();
  private readonly commands = new Map<number, (output: CommandOutput) => void>();
  private nextCommand = 0;
  private failure: Error | undefined;

  private constructor(
    private readonly session: ExecSession,
    private readonly release: () => Promise<void>,
    private readonly label: string,
  ) {}

  /**
   * Starts a controller in a container of `image` with the tree of `commit`'s
   * branch; `env`: its process' environment (controllerEnv).
   */
  static async open(ctx: AnsibleRuntime, input: { image: string; branch: string; commit: Commit; env: Record<string, string>; onLoading?: () => void }): Promise<PlayController> {
    const docker = await ctx.docker();
    const container = await docker.createContainer({
      Image: input.image,
      Entrypoint: [],
      Cmd: ['/bin/sh', '-c', SLEEP_UNTIL_TERM],
      Hostname: 'vauban-controller',
      name: runContainerName('stage', ctx.runId, 'controller'),
      HostConfig: { Tmpfs: { '/tmp': 'rw,nosuid,nodev,mode=1777' } },
    } as Dockerode.ContainerCreateOptions);
    const label = `controller ${container.id.slice(0, 12)} (${input.image}, ${input.commit.sha.slice(0, 10)})`;
    const release = ctx.cleanup.push(`container ${label}`, () => removeContainer(docker, container.id));
    try {
      await putArchive(container, createReadStream(await ctx.ansible.archive(input.branch)), '/root');
      await container.start();
      // What the hosts' containers of this image need to know of it before they start, read meanwhile.
      imageInit(ctx, input.image, container).catch(() => undefined);
      // As stage.sh leaves it: the branch's tree exactly (what the image's copy has beyond it, gone).
      const cleaned = await execCapture(docker, container, { cmd: ['/bin/sh', '-c', 'git -C /root/ansible clean -ffdxq'], signal: ctx.signal });
      if (cleaned.code !== 0) throw new VaubanError(`cannot prepare the Ansible tree in the ${label}: ${cleaned.stderr.slice(-3).join('; ')}`);
      const rootDir = ctx.settings.values.ANSIBLE_ROOT_DIR ?? '';
      let controller: PlayController | undefined;
      let ready: (() => void) | undefined;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const stderr: string[] = [];
      const session = await openExecSession(docker, container, {
        cmd: ['python3', '-c', readFileSync(path.join(ctx.installDir, 'play', 'controller.py'), 'utf8')],
        env: input.env,
        workingDir: path.posix.join('/root/ansible', rootDir),
        onStdoutLine: (line) => {
          let message: PlayMessage;
          try {
            message = parseChannelLine(line, label);
          } catch (error) {
            // The controller keeps its channel to itself (what Python prints goes to its standard error):
            // a stray line is said, not fatal to every host's play.
            ctx.reporter.warn((error as Error).message);
            return;
          }
          if (message.op === 'ready') ready?.();
          else controller?.fromController(message);
        },
        onStderrLine: (line) => {
          stderr.push(line);
          ctx.reporter.debug(`  ${label}: ${line}`);
        },
        signal: ctx.signal,
      });
      input.onLoading?.();
      controller = new PlayController(session, release, label);
      const ended = session.exited.then((code) => {
        controller?.fail(new VaubanError(`the ${label} exited (status ${code}): ${stderr.slice(-5).join('; ')}`));
      });
      await Promise.race([isReady, ended]);
      if (controller.failure) throw controller.failure;
      ctx.reporter.debug(`  ${label}: Ansible loaded`);
      return controller;
    } catch (error) {
      await release();
      throw error;
    }
  }

  /**
   * Runs the host's play (`hello`: what its agent read in its container);
   * requests for the host go to `toAgent`; resolves with ansible-playbook's
   * exit status.
   */
  play(host: string, hello: PlayHello, toAgent: (message: PlayMessage) => void, onLine: (line: string) => void): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.plays.has(host)) return Promise.reject(new VaubanError(`${host} is already playing in the ${this.label}`));
    return new Promise<number>((resolve) => {
      this.plays.set(host, { toAgent, onLine, done: resolve });
      this.session.write(`${JSON.stringify({ op: 'play', host, ...hello })}\n`);
    }).finally(() => this.plays.delete(host));
  }

  /**
   * Runs `ansible` or `ansible-inventory` with `args` in the controller, as
   * the branch's tree and the image's Ansible give them (forked from the
   * loaded Ansible: no second start of Python and Ansible).
   */
  runCommand(command: 'ansible' | 'ansible-inventory', args: string[]): Promise<CommandOutput> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.nextCommand;
    return new Promise<CommandOutput>((resolve) => {
      this.commands.set(id, resolve);
      this.session.write(`${JSON.stringify({ op: 'run', id, command, args })}\n`);
    }).finally(() => this.commands.delete(id));
  }

  /** Ends the host's play (its container is gone: the answers it waits for will never come). */
  abort(host: string): void {
    if (this.plays.has(host)) this.session.write(`${JSON.stringify({ op: 'abort', host })}\n`);
  }

  /** An answer of `host`'s agent to one of its play's requests (the controller checks the request was that host's). */
  reply(host: string, message: PlayMessage): void {
    this.session.write(`${JSON.stringify({ ...message, op: 'reply', host })}\n`);
  }

  private fromController(message: PlayMessage): void {
    if (message.op === 'ran') {
      const decode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : '', 'base64');
      this.commands.get(Number(message.id))?.({ code: Number(message.rc), stdout: decode(message.stdout), stderr: decode(message.stderr) });
      return;
    }
    const host = typeof message.host === 'string' ? message.host : '';
    const play = this.plays.get(host);
    if (play === undefined) return;
    if (message.op === 'log') play.onLine(String(message.line));
    else if (message.op === 'done') play.done(Number(message.rc));
    else {
      const { host: _host, ...request } = message;
      play.toAgent(request);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [host, play] of this.plays) {
      play.onLine(`vauban: ${error.message}`);
      play.done(255);
      this.plays.delete(host);
    }
    for (const done of this.commands.values()) done({ code: 255, stdout: Buffer.alloc(0), stderr: Buffer.from(`vauban: ${error.message}`) });
  }

  /** Lets the plays still running end, then removes the container. */
  async close(): Promise<void> {
    this.session.end();
    let timer: NodeJS.Timeout | undefined;
    // Cleared once it has exited: a pending timer would keep vauban alive after its work.
    const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 10_000)));
    await Promise.race([this.session.exited.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
    await this.release();
  }
}

/**
 * The run's controllers: one per source image (by ID), branch commit and set
 * of Ansible settings, opened on first use and shared from then on. The
 * preflight's host resolution opens the first, while the run's other checks
 * go on: the hosts' plays then find it loaded.
 */
export class PlayControllers {
  private readonly opened = new Map<string, Promise<PlayController>>();
  private loadingStarted: () => void = () => undefined;
  private readonly loadingPromise = new Promise<void>((resolve) => (this.loadingStarted = resolve));

  constructor(private readonly ctx: AnsibleRuntime) {}

  /** Settles once a controller is loading Ansible (its container started), or failed to: this process then has time to spare. */
  loading(): Promise<void> {
    return this.loadingPromise;
  }

  /** The controller of `image` (an image ID), `commit` of `branch` and `env` (controllerEnv). */
  of(image: string, branch: string, commit: Commit, env: Record<string, string>): Promise<PlayController> {
    const key = `${image}:${commit.sha}:${sha256Hex(JSON.stringify(env))}`;
    let controller = this.opened.get(key);
    if (controller === undefined) {
      controller = PlayController.open(this.ctx, { image, branch, commit, env, onLoading: this.loadingStarted });
      controller.catch(this.loadingStarted);
      this.opened.set(key, controller);
    }
    return controller;
  }

  /**
   * The controller a play of `image` (a name or an ID) on `branch` asks for
   * when no hook exports Ansible settings: the image's environment and
   * stage.sh's, as the host's container gives them.
   */
  async likely(image: string, branch: string): Promise<PlayController> {
    const docker = await this.ctx.docker();
    const inspected = await docker.getImage(image).inspect();
    const imageEnv = Object.fromEntries((inspected.Config.Env ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
    const commit = await this.ctx.ansible.commit(branch);
    return this.of(inspected.Id, branch, commit, controllerEnv({ ...imageEnv, ...stageEnv(this.ctx) }));
  }

  /** Closes every controller (their plays are over); one that failed to open is nobody's to close. */
  async closeAll(): Promise<void> {
    const opened = [...this.opened.values()];
    this.opened.clear();
    for (const controller of opened) await controller.then((one) => one.close(), () => undefined);
  }
}
