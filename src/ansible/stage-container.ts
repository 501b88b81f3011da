// The container a stage runs in (SPEC A4, B10): created from the stage's
// source image with systemd as PID 1, so that roles written for real servers
// build as they are (services start, handlers restart, maintainer scripts
// start daemons, `enabled` makes the boot-time links). The stage script
// (stage.sh) is run in it with `docker exec`; then the container is either
// committed (a master's stage) or read (a conffs host), and removed.
// Everything goes through the Engine API, so a remote DOCKER_HOST works too.
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Commit } from './repository.js';
import type { AnsibleRuntime } from './runtime.js';
import { VaubanError } from '../errors.js';
import { shellQuote } from '../system/shell-quote.js';
import { baselineFromListing, parseChanged, treeChanges, type Baseline, type TreeChange } from '../conffs/tree-diff.js';
import type { Stage } from '../model/stage.js';
import { parseChannelLine, printable, type PlayHello, type PlayMessage, type PlayRelay } from './play-channel.js';
import type { DockerClient } from '../system/docker/client.js';
import {
  commitContainer,
  execCapture,
  execInContainer,
  openExecSession,
  pathExists,
  putArchive,
  readFileFromContainer,
  removeContainer,
  runContainerName,
  SLEEP_UNTIL_TERM,
} from '../system/docker/containers.js';

const SYSTEMD = '/lib/systemd/systemd';

// The moment the container's own work begins, touched once it is up (on its /run tmpfs: never in its changes).
const BASELINE_MARK = '/run/vauban-baseline';
// A second before the container was created (the engine's clock, the kernel's time stamps). Overlayfs
// copies a folder up into the container's own layer before anything in it is written, created, deleted or
// renamed, and the copy's change time is then: a folder whose change time is older is still the image's,
// and nothing below it changed. The change listing does not enter it (a fresh overlay costs ~15 us a
// path on a first walk: 0.77 CPU-s a host for a whole Debian, measured; the folders entered are a few).
const CREATED_MARK = '/run/vauban-created';
// The device of the container's root, then every path of its root file system as
// "<device> <path>", NUL-separated, relative to /. -xdev still lists the mount
// points themselves (/run, /tmp, /proc...): their device tells them apart.
// `prune`: the folders left out, not even walked (pruneExpression).
const listTree = (prune: string) => `find / -maxdepth 0 -printf '%D\\0' && find / -xdev -mindepth 1 ${prune} -printf '%D %P\\0'`;
// The root's device; the present entries of the changed folders of the root's
// file system (listed by a find of their own, -fstype: not those of a tmpfs
// mounted on it); an empty record; then the paths changed since the mark as
// "<device> <type> <path>" (/ itself is ''). find, sh and cat only: what any
// image has (no xargs in a minimal one).
const listChanges = (prune: string) =>
  "fs=$(find / -maxdepth 0 -printf %F) && find / -maxdepth 0 -printf '%D\\0' && " +
  `find / -xdev ${prune} \\( ! -path / -type d ! -cnewer ${CREATED_MARK} -prune \\) -o -cnewer ${BASELINE_MARK} \\( -type d -fstype "$fs" -exec sh -c 'find "$@" -mindepth 1 -maxdepth 1 -printf "%p\\\\0"' sh {} + -o -true \\) ` +
  `-fprintf /run/vauban-changed '%D %y %P\\0' && printf '\\0' && cat /run/vauban-changed`;

/** The find expression that skips `folders` (relative to /: vauban's own constants, never a stage's paths). */
function pruneExpression(folders: readonly string[]): string {
  if (folders.length === 0) return '';
  for (const folder of folders) if (!/^[A-Za-z0-9_./-]+$/.test(folder)) throw new VaubanError(`not a folder vauban can skip: ${folder}`);
  return `\\( ${folders.map((folder) => `-path '/${folder}'`).join(' -o ')} \\) -prune -o`;
}

/** The NUL-terminated records of `buffer` (paths may hold any byte but NUL). */
function records(buffer: Buffer): string[] {
  return buffer.toString('utf8').split('\0').filter((one) => one !== '');
}

/**
 * What a container cannot give a service that a booted host can (issue 25,
 * SPEC B10), relaxed for the build only: a drop-in for every service in
 * /run/systemd/system/service.d/, on the container's /run tmpfs, so it never
 * reaches a committed image or a conffs. Relaxed only what fails here, probed
 * before systemd starts:
 * - `PrivateUsers=yes` needs a user namespace, which the engine's default
 *   seccomp profile refuses an unprivileged container (the service exits
 *   217/USER: Debian's redis-server): `PrivateUsers=no`;
 * - bind mounts (`BindReadOnlyPaths=`, `BindPaths=`) need a mount namespace,
 *   which a container without CAP_SYS_ADMIN cannot make, and systemd insists on
 *   them (226/NAMESPACE: Debian's haproxy binds /dev/log into its chroot): the
 *   list emptied (`BindReadOnlyPaths=` empties both, one list in systemd).
 * The rest of a unit's sandbox stays as the unit says. Measured here, 48
 * directives one unit each: 44 start as written (systemd applies them, or skips
 * a mount namespace it cannot make, "assuming containerized execution":
 * ProtectSystem=, PrivateDevices=, RestrictNamespaces=...); DynamicUser= and
 * TemporaryFileSystem= (226/NAMESPACE) stay so: relaxing them would change
 * which user owns what the service writes, or let its scratch files into the
 * image, so such a unit fails in the build and the stage names it
 * (units-failed in /imginfo).
 */
export const BUILD_DROP_IN = '/run/systemd/system/service.d/zz-vauban-build.conf';
const RELAX_SANDBOX =
  "relax=''; unshare --user true 2>/dev/null || relax='PrivateUsers=no\\n'; " +
  "unshare --mount true 2>/dev/null || relax=\"${relax}BindReadOnlyPaths=\\n\"; " +
  `if [ -n "$relax" ]; then mkdir -p ${path.posix.dirname(BUILD_DROP_IN)} && ` +
  `printf "# vauban: for the build only (what this container cannot give a service)\\n[Service]\\n$relax" > ${BUILD_DROP_IN}; fi; `;

/**
 * PID 1 of a stage container. In a container systemd reads its arguments as
 * the kernel command line: it boots to sysinit.target only (no timers, no
 * gettys: services run when the play or a maintainer script starts them), and
 * the units that would write boot-time state into the image are masked
 * (utmp records, the machine-id commit, the first-boot wizard). Without
 * systemd in the image, a plain sleeper stands in (services then cannot run,
 * as with vauban.sh, and the stage says so). `relax`: RELAX_SANDBOX first.
 */
function initCommand(relax: boolean): string[] {
  return [
    '/bin/sh',
    '-c',
    `if [ -x ${SYSTEMD} ]; then ${relax ? RELAX_SANDBOX : ''}exec env container=docker ${SYSTEMD} systemd.unit=sysinit.target ` +
      'systemd.mask=systemd-update-utmp.service systemd.mask=systemd-machine-id-commit.service ' +
      'systemd.mask=systemd-firstboot.service systemd.show_status=0; fi; ' +
      SLEEP_UNTIL_TERM,
  ];
}

/** What the tree of a container of an image depends on besides the image: its boot and the listing (kept baselines' key). */
export function treeRecipe(skipped: readonly string[]): string {
  // The relaxation lives on /run, which the listing never enters: one recipe either way.
  return JSON.stringify([initCommand(false), listTree(pruneExpression(skipped))]);
}

/** The stage's settings as stage.sh and its ansible-playbook see them (the controller's Ansible too). */
export function stageEnv(ctx: AnsibleRuntime): Record<string, string> {
  const settings = ctx.settings.values;
  return {
    ANSIBLE_ROOT_DIR: settings.ANSIBLE_ROOT_DIR ?? '',
    ANSIBLE_EXTRA_ARGS: settings.ANSIBLE_EXTRA_ARGS ?? '',
    HOOK_PRE_ANSIBLE: settings.HOOK_PRE_ANSIBLE ?? '',
    HOOK_POST_ANSIBLE: settings.HOOK_POST_ANSIBLE ?? '',
    // Ansible's output as it comes, not in blocks.
    PYTHONUNBUFFERED: '1',
    ANSIBLE_FORCE_COLOR: '0',
  };
}

export interface StageContainerInput {
  /** The image the container is created from. */
  image: string;
  /** Host name of the container and of the play. */
  hostname: string;
  /** Each line of the container's work. */
  onLine: (line: string) => void;
  /**
   * The container will be committed (a master's stage): its own files must
   * hold what a conffs host reads from the running container (/etc/hostname).
   */
  committed: boolean;
}

export interface StageRun {
  stage: Stage;
  branch: string;
  commit: Commit;
  /** The image name recorded as the stage's source in /imginfo. */
  source: string;
  /**
   * Check requirements.yml against what is vendored: for a master's stages;
   * conffs hosts replay stages whose requirements their master's build checked.
   */
  checkRequirements: boolean;
}

/** The original /etc/machine-id of the image, restored before the container's state is kept. */
type MachineId = { kind: 'kept' } | { kind: 'replaced'; original: Buffer | undefined };

export class StageContainer {
  private constructor(
    private readonly ctx: AnsibleRuntime,
    private readonly docker: DockerClient,
    private readonly container: Dockerode.Container,
    private readonly input: StageContainerInput,
    private readonly release: () => Promise<void>,
    readonly init: 'systemd' | 'none',
    private readonly machineId: MachineId,
    private readonly failedAtBoot: string[],
    private readonly sourceConfig: Dockerode.ImageInspectInfo['Config'],
    /** The ID of the image the container was made from. */
    readonly imageId: string,
    private readonly kept: { name: string | undefined },
  ) {}

  /**
   * Leaves the container running after the run (--keep-failed): renamed out of
   * the run's names (its cleanup removes those), its own name returned.
   */
  async keep(label: string): Promise<string> {
    const name = `vauban-failed-${label.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').slice(0, 80)}-${randomBytes(3).toString('hex')}`;
    await this.container.rename({ name });
    this.kept.name = name;
    await this.release();
    return name;
  }

  /** Creates and starts the container; it is removed by close() or by the run's cleanup. */
  static async open(ctx: AnsibleRuntime, input: StageContainerInput): Promise<StageContainer> {
    const docker = await ctx.docker();
    const source = await docker.getImage(input.image).inspect();
    const cgroupVersion = await ctx.engineCgroupVersion();
    const container = await docker.createContainer({
      Image: input.image,
      Cmd: initCommand(ctx.settings.values.BUILD_RELAX_SANDBOX !== 'no'),
      Entrypoint: [],
      Hostname: input.hostname,
      // Named, not labelled: an image made by commit keeps its container's labels, and would pass them on.
      name: runContainerName('stage', ctx.runId, input.hostname),
      HostConfig: {
        // /run and /tmp are scratch, as on a booted host: what runs there never reaches the image.
        Tmpfs: { '/run': 'rw,nosuid,nodev,mode=755', '/run/lock': 'rw,nosuid,nodev,noexec', '/tmp': 'rw,nosuid,nodev,mode=1777' },
        // systemd needs the cgroup tree: read-only on cgroup v1 (measured here), its own namespace on v2.
        ...(cgroupVersion === '2' ? { CgroupnsMode: 'private' } : { Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro'] }),
      },
    } as Dockerode.ContainerCreateOptions);
    // Kept (--keep-failed): the run leaves it for the operator to look into.
    const kept = { name: undefined as string | undefined };
    const release = ctx.cleanup.push(`container ${container.id.slice(0, 12)} (${input.hostname})`, async () => {
      if (kept.name === undefined) await removeContainer(docker, container.id);
    });
    try {
      // Read once per image and run, from the first container made of it: every host of a conffs run shares them.
      const init = await imageInit(ctx, source.Id, container);
      const files: Array<{ name: string; content: string; mode?: number }> = [];
      // Docker bind-mounts /etc/hostname while the container runs: a committed layer gets the name only if the file is written before.
      if (input.committed) files.push({ name: 'hostname', content: `${input.hostname}\n` });
      const machineId: MachineId = init.hasSystemd && init.machineIdMissing ? { kind: 'replaced', original: init.machineId } : { kind: 'kept' };
      if (machineId.kind === 'replaced') files.push({ name: 'machine-id', content: `${randomBytes(16).toString('hex')}\n`, mode: 0o444 });
      if (files.length > 0) await putArchive(container, await filesTar(files), '/etc');
      await container.start();
      // Once started (systemd's boot settled), the moment the container's own work begins is marked: what its boot changed is nobody's change.
      const marks = `touch -d @${createdBefore(await container.inspect())} ${CREATED_MARK} && touch ${BASELINE_MARK}`;
      const { failedAtBoot, relaxed } = init.hasSystemd ? await waitForSystemd(docker, container, marks, ctx.signal) : await markStart(docker, container, marks, ctx.signal);
      const notes = [...(failedAtBoot.length ? [`failed at boot: ${failedAtBoot.join(' ')}`] : []), ...(relaxed.length ? [`for the build only: ${relaxed.join(' ')}`] : [])];
      input.onLine(`container ${container.id.slice(0, 12)} of ${input.image} as ${input.hostname}: ${init.hasSystemd ? `systemd running${notes.length ? ` (${notes.join('; ')})` : ''}` : 'no systemd in the image: services cannot run during this build'}`);
      if (relaxed.length > 0) void ctx.once('build-sandbox-relaxed', async () => ctx.reporter.info(relaxedMessage(relaxed)));
      return new StageContainer(ctx, docker, container, input, release, init.hasSystemd ? 'systemd' : 'none', machineId, failedAtBoot, source.Config, source.Id, kept);
    } catch (error) {
      await release();
      throw error;
    }
  }

  get id(): string {
    return this.container.id;
  }

  /**
   * What the container's own start leaves in its changes, never a host's own
   * change: mount points (the engine creates /sys/fs/cgroup for its bind),
   * systemd's tmpfiles relinking /etc/mtab (Docker's is /proc/mounts), and an
   * empty machine-id put back, still a copied-up file.
   */
  get bootNoise(): string[] {
    return ['proc', 'sys', 'dev', ...(this.init === 'systemd' ? ['etc/mtab'] : []), ...(this.machineId.kind === 'replaced' ? ['etc/machine-id'] : [])];
  }

  /**
   * Applies one stage: its branch's tree at /root/ansible, then stage.sh;
   * with `controllerFor`, the play runs in the controller it gives for the
   * play's environment, and this container's agent does what it asks (issue 11).
   */
  async applyStage(run: StageRun, controllerFor?: (hello: PlayHello) => Promise<PlayRelay>): Promise<void> {
    const { ctx } = this;
    const archive = await ctx.ansible.archive(run.branch);
    const script = readFileSync(path.join(ctx.installDir, 'stage.sh'), 'utf8');
    const env = {
      ...stageEnv(ctx),
      VAUBAN_HOSTNAME: this.input.hostname,
      PLAYBOOK: run.stage.playbook,
      SOURCE: run.source,
      BRANCH: run.branch,
      VAUBAN_INIT: this.init,
      VAUBAN_FAILED_BEFORE: this.failedAtBoot.join(' '),
      VAUBAN_CHECK_REQUIREMENTS: run.checkRequirements ? '1' : '0',
      VAUBAN_TREE_BYTES: String(statSync(archive).size),
    };
    // The branch's tree goes in on the script's standard input: one exec, no archive upload of its own.
    const code =
      controllerFor === undefined
        ? await execInContainer(this.docker, this.container, {
            cmd: ['/bin/bash', '-c', script, 'stage.sh'],
            stdin: createReadStream(archive),
            env: { ...env, VAUBAN_PLAY: 'local' },
            onLine: this.input.onLine,
            signal: ctx.signal,
          })
        : await this.stageWithController(script, archive, { ...env, VAUBAN_PLAY: 'agent', VAUBAN_AGENT: readFileSync(path.join(ctx.installDir, 'play', 'agent.py'), 'utf8') }, controllerFor);
    if (code !== 0) throw new VaubanError(`stage ${run.stage.playbook} exited with status ${code} (see the log above for the failed task)`);
  }

  /**
   * stage.sh with its agent: the agent's hello starts the host's play in the
   * controller; the play's requests go to the agent and its answers back;
   * the play's exit status ends the agent, and stage.sh goes on from there.
   */
  private async stageWithController(script: string, archive: string, env: Record<string, string>, controllerFor: (hello: PlayHello) => Promise<PlayRelay>): Promise<number> {
    const { onLine, hostname } = this.input;
    let playing: Promise<void> | undefined;
    let controller: Promise<PlayRelay> | undefined;
    const session = await openExecSession(this.docker, this.container, {
      cmd: ['/bin/bash', '-c', script, 'stage.sh'],
      env,
      onStderrLine: onLine,
      onStdoutLine: (line) => {
        // Thrown, it ends the session: the host fails with this message.
        const message = parseChannelLine(line, `${hostname}'s agent`) as PlayMessage & Partial<PlayHello>;
        if (message.op !== 'hello') {
          if (controller === undefined || typeof message.req !== 'number') throw new VaubanError(`${hostname}: a message on the play channel out of turn: ${printable(line)}`);
          void controller.then(
            (one) => one.reply(hostname, message),
            () => undefined,
          );
          return;
        }
        if (controller !== undefined) throw new VaubanError(`${hostname}: a second hello on the play channel: ${printable(line)}`);
        const hello = { env: message.env ?? {}, args: message.args ?? [], cwd: message.cwd ?? '' };
        controller = controllerFor(hello);
        playing = controller
          .then((one) => one.play(hostname, hello, (request) => session.write(`${JSON.stringify(request)}\n`), onLine))
          .then((rc) => session.write(`${JSON.stringify({ op: 'end', rc })}\n`))
          .catch((error: Error) => {
            onLine(`vauban: ${error.message}`);
            session.write(`${JSON.stringify({ op: 'end', rc: 255 })}\n`);
          });
      },
      signal: this.ctx.signal,
    });
    try {
      await session.send(createReadStream(archive));
      return await session.exited;
    } finally {
      // stage.sh ended while its play still ran (the agent or the container died, the channel was refused): the play is ended too.
      void controller?.then(
        (one) => one.abort(hostname),
        () => undefined,
      );
      await playing;
    }
  }

  /** Puts back what the container's own boot changed, before its state is kept. */
  private async tidy(): Promise<void> {
    const restore =
      this.machineId.kind === 'kept'
        ? ''
        : this.machineId.original === undefined
          ? 'rm -f /etc/machine-id;'
          : `printf %s "$VAUBAN_MACHINE_ID" | base64 -d > /etc/machine-id;`;
    // The build's journal is no host's history.
    const journal = this.init === 'systemd' ? 'journalctl --relinquish-var >/dev/null 2>&1 || true; rm -rf "/var/log/journal/$(cat /etc/machine-id 2>/dev/null)";' : '';
    if (restore === '' && journal === '') return;
    const code = await execInContainer(this.docker, this.container, {
      cmd: ['/bin/sh', '-c', `${journal} ${restore}`],
      env: this.machineId.kind === 'replaced' && this.machineId.original !== undefined ? { VAUBAN_MACHINE_ID: this.machineId.original.toString('base64') } : {},
      onLine: this.input.onLine,
      signal: this.ctx.signal,
    });
    if (code !== 0) throw new VaubanError(`cannot restore the container's boot-time files (exit status ${code})`);
  }

  /** Stops systemd cleanly (services stop as on a shutdown), commits the container as `reference`. */
  async commit(reference: string, labels: Record<string, string>): Promise<string> {
    await this.tidy();
    await this.stop();
    const config = this.sourceConfig;
    return commitContainer(this.container, {
      reference,
      comment: `vauban stage as ${this.input.hostname}`,
      // The engine merges this over the container's own configuration: keep the source's.
      config: {
        Cmd: config.Cmd && config.Cmd.length > 0 ? config.Cmd : ['/bin/bash'],
        Entrypoint: config.Entrypoint ?? null,
        Env: config.Env,
        WorkingDir: config.WorkingDir,
        Labels: { ...(config.Labels ?? {}), ...labels },
      },
    });
  }

  /** Every path of the container's root file system now (the mount points on it, and `skipped` folders, left out). */
  async tree(skipped: readonly string[]): Promise<Baseline> {
    return baselineFromListing(records(await this.execOutput(listTree(pruneExpression(skipped)))));
  }

  /**
   * What changed since the start mark, against `baseline` (the tree at that
   * moment), read inside the container. The Engine API's changes would say
   * the same, but this engine computes them by walking the whole image (3
   * CPU-seconds a host in dockerd, measured); listing the whole tree again
   * cost 0.5 CPU-second a host, streamed through the engine: here, only what
   * changed and the entries of the folders that did (see tree-diff.ts).
   * `put`: a tar extracted at `dir` first, in the same exec (the host's sshd
   * keys: one engine round trip and one untar process of dockerd less a host),
   * so that its files are among the changes.
   */
  async changesSince(baseline: Baseline, skipped: readonly string[], put?: { dir: string; tar: Buffer }): Promise<TreeChange[]> {
    const script = listChanges(pruneExpression(skipped));
    const output =
      put === undefined
        ? await this.execOutput(script)
        : await this.execOutput(`tar --extract --file=- --numeric-owner --directory=${shellQuote(put.dir)} && ${script}`, put.tar);
    const boundary = output.indexOf('\0\0');
    const [device = '', ...entries] = records(output.subarray(0, boundary + 1));
    const current = new Set(entries.map((one) => one.replace(/^\//, '')));
    return treeChanges(baseline, parseChanged(records(output.subarray(boundary + 2))), device, current);
  }

  private async execOutput(script: string, stdin?: Buffer): Promise<Buffer> {
    const run = await execCapture(this.docker, this.container, { cmd: ['/bin/sh', '-c', script], signal: this.ctx.signal, ...(stdin === undefined ? {} : { stdin }) });
    if (run.code !== 0) throw new VaubanError(`listing the tree in container ${this.id.slice(0, 12)} failed (exit status ${run.code}): ${run.stderr.slice(-3).join('; ')}`);
    return run.stdout;
  }

  /**
   * A tar of `paths` (relative to /, without recursion) made by the image's own
   * tar inside the container: owners, modes, links and xattrs as the image has them.
   */
  async tarOf(paths: string[], consume: (tar: Readable) => Promise<void>): Promise<void> {
    const errors: string[] = [];
    const code = await execInContainer(this.docker, this.container, {
      cmd: ['tar', '--create', '--file=-', '--numeric-owner', '--no-recursion', '--directory=/', '--null', '--files-from=-'],
      stdin: Buffer.from(paths.map((one) => `${one}\0`).join('')),
      onStdout: consume,
      onLine: (line) => errors.push(line),
      signal: this.ctx.signal,
    });
    if (code !== 0) throw new VaubanError(`tar in container ${this.id.slice(0, 12)} failed (exit status ${code}): ${errors.slice(-5).join('; ')}`);
  }

  private async stop(): Promise<void> {
    if (this.init === 'systemd') {
      // SIGRTMIN+3: systemd's "halt" in a container; services are stopped in order.
      await this.container.kill({ signal: 'SIGRTMIN+3' });
      // The timer is cleared once systemd has halted: left pending, it would keep
      // the process alive (and the command from ending) for up to 60 s after its work.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), 60_000);
      });
      const stopped = await Promise.race([this.container.wait(), timeout]).finally(() => clearTimeout(timer));
      if (stopped === undefined) {
        this.input.onLine('systemd did not halt within 60 s: stopping the container');
        await this.container.stop({ t: 5 });
      }
    } else {
      await this.container.stop({ t: 5 });
    }
  }

  /** Removes the container (whatever its state). */
  async close(): Promise<void> {
    await this.release();
  }
}

/**
 * A whole second before the engine created the container, as seconds since
 * the epoch: the kernel stamps files with a coarse clock, which may lag the
 * engine's by a tick; a folder of the image made in that second is merely
 * entered by the change listing, never skipped wrongly.
 */
function createdBefore(info: Dockerode.ContainerInspectInfo): number {
  const created = Date.parse(info.Created);
  if (Number.isNaN(created)) throw new VaubanError(`the engine gave no creation time for container ${info.Id.slice(0, 12)}: ${JSON.stringify(info.Created)}`);
  return Math.floor(created / 1000) - 1;
}

/** What a stage container needs to know of its image before it starts. */
interface ImageInit {
  hasSystemd: boolean;
  /** /etc/machine-id as the image has it (undefined: no such file). */
  machineId: Buffer | undefined;
  /**
   * Missing, empty or "uninitialized" (as Debian's cloud images ship it):
   * systemd would run its first-boot logic (presets applied to every unit) in
   * the build. A machine id is put in for the build only, and the original is
   * restored before the container is kept.
   */
  machineIdMissing: boolean;
}

/**
 * What a stage container of image `imageId` needs to know of it, read once per
 * image and run in `container` (any container of that image whose /etc and
 * /lib it has not changed: the first stage container, or the image's play
 * controller while the preflight resolves the hosts).
 */
export async function imageInit(ctx: AnsibleRuntime, imageId: string, container: Dockerode.Container): Promise<ImageInit> {
  try {
    return await ctx.once(`stage-init:${imageId}`, () => readImageInit(container));
  } catch {
    // The container first asked went away meanwhile: this one tells.
    return readImageInit(container);
  }
}

async function readImageInit(container: Dockerode.Container): Promise<ImageInit> {
  const hasSystemd = await pathExists(container, SYSTEMD);
  const machineId = (await pathExists(container, '/etc/machine-id')) ? await readFileFromContainer(container, '/etc/machine-id') : undefined;
  return { hasSystemd, machineId, machineIdMissing: !/^[0-9a-f]{32}$/.test(machineId?.toString('utf8').trim() ?? '') };
}

/** What a container's start tells: the units that failed at its boot, the directives relaxed for its build (BUILD_DROP_IN). */
interface StartState {
  failedAtBoot: string[];
  relaxed: string[];
}

/** The run's one line on what services could not have during its builds. */
function relaxedMessage(relaxed: readonly string[]): string {
  const said = relaxed.map((directive) => (directive === 'BindReadOnlyPaths=' ? 'no bind mounts (BindPaths=, BindReadOnlyPaths=)' : directive));
  return (
    `services run with ${said.join(', ')} during this run's builds: the build container cannot give them what the unit asks ` +
    `(a user namespace, a mount namespace); a runtime drop-in (${BUILD_DROP_IN}) relaxes it there only, and the images and conffs keep every unit as written ` +
    '(BUILD_RELAX_SANDBOX=no: units as written, and those that need it fail in builds)'
  );
}

/** Waits until systemd has finished starting, then runs `marks` (the start marks). */
async function waitForSystemd(docker: DockerClient, container: Dockerode.Container, marks: string, signal: AbortSignal): Promise<StartState> {
  const lines: string[] = [];
  const code = await execInContainer(docker, container, {
    cmd: [
      '/bin/sh',
      '-c',
      'i=0; until [ -S /run/systemd/private ]; do i=$((i+1)); [ $i -lt 1200 ] || exit 3; sleep 0.05; done; ' +
        'timeout 120 systemctl is-system-running --wait >/dev/null 2>&1; ' +
        'systemctl list-units --state=failed --plain --no-legend | while read -r unit rest; do echo "failed $unit"; done; ' +
        `if [ -f ${BUILD_DROP_IN} ]; then sed -n 's/^\\([A-Za-z]*=.*\\)$/relaxed \\1/p' ${BUILD_DROP_IN}; fi; ` +
        marks,
    ],
    onLine: (line) => lines.push(line),
    signal,
  });
  if (code !== 0) {
    throw new VaubanError(`systemd did not start in the stage container (exit status ${code}): ${lines.slice(-5).join('; ')}`, {
      hint: 'the engine must let systemd run as PID 1 (cgroup tree mounted); see the README, "Services during the build"',
    });
  }
  const tagged = (tag: string) => lines.filter((line) => line.startsWith(`${tag} `)).map((line) => line.slice(tag.length + 1));
  return { failedAtBoot: tagged('failed'), relaxed: tagged('relaxed') };
}

/** The start marks (`marks`) of a container without systemd; no unit failed at its boot, nothing was relaxed. */
async function markStart(docker: DockerClient, container: Dockerode.Container, marks: string, signal: AbortSignal): Promise<StartState> {
  const lines: string[] = [];
  const code = await execInContainer(docker, container, { cmd: ['/bin/sh', '-c', marks], onLine: (line) => lines.push(line), signal });
  if (code !== 0) throw new VaubanError(`cannot mark the start in the stage container (exit status ${code}): ${lines.slice(-3).join('; ')}`);
  return { failedAtBoot: [], relaxed: [] };
}

async function filesTar(files: Array<{ name: string; content: string; mode?: number }>): Promise<Buffer> {
  const tarStream = await import('tar-stream');
  const pack = tarStream.pack();
  for (const file of files) pack.entry({ name: file.name, mode: file.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date() }, file.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
