// build_conffs (A6, A7, B11): for each host of the --ansible-host pattern, the
// stages replayed as that host in one container of the source image, then
// what that container changed (the union of what its stages made), packed as
// overlayfs/overlayfs-<host>/conffs-<host>.tgz with the host's sshd keys.
// Hosts are built in parallel (bounded); a failing host does not stop the
// others, but fails the run once they are done.
import { copyFileSync, linkSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { recordFileOf, writeArtifactRecord } from '../cache/artifact-record.js';
import { imageId } from '../cache/image-cache.js';
import type { Context } from '../context.js';
import { EXIT, VaubanError, throwIfAborted } from '../errors.js';
import type { HostResult } from '../model/run-report.js';
import { KEPT_BASELINES, hostLogName, keptConffsFolder, macEntryIn } from '../model/local-layout.js';
import { plannedConffsArchive } from '../model/plan.js';
import { keepBaseline, keptBaselineFile, readKeptBaseline } from '../conffs/kept-baselines.js';
import type { Baseline } from '../conffs/tree-diff.js';
import { summarizeHostLog, type HostFailure } from '../conffs/host-failure.js';
import { macEntry } from '../pxe/ipxe-entry.js';
import { sshdKeysFor } from '../vault/sshd-keys.js';
import { temporaryFileFor } from '../system/temporary-file.js';
import { openLogFile, type LogFile } from '../system/log-file.js';
import { conffsHost, conffsParts, decideConffs, type ConffsHost } from '../conffs/decision.js';
import { DELETIONS_MEMBER, RESERVED_FOLDER, listableDeletions, packConffs, sshdKeysTar } from '../conffs/archive.js';
import { imageExists } from '../system/docker/images.js';
import type { PlayControllers } from '../ansible/play-controller.js';
import { controllerEnv, helloEnv, type PlayHello } from '../ansible/play-channel.js';
import type { HostContainersAhead } from '../conffs/host-containers-ahead.js';
import { StageContainer, treeRecipe } from '../ansible/stage-container.js';
import type { ConffsArtifact } from './types.js';

/** Left out of every conffs (A6): not even walked when the changes are read. */
const EXCLUDED = ['var/log', 'var/cache', 'root/ansible'];

/** The key of the tree of an image's containers when their work begins: one per image and run. */
const baselineKey = (imageId: string) => `conffs-baseline:${imageId}`;

/** The tree of `imageId`'s containers as an earlier run kept it, else taken by `take` and kept. */
async function keptOrTaken(ctx: Context, imageId: string, take: () => Promise<Baseline>): Promise<Baseline> {
  const file = keptBaselineFile(ctx.output(KEPT_BASELINES), imageId, treeRecipe(EXCLUDED));
  const kept = await readKeptBaseline(file);
  if (kept !== undefined) return kept;
  const baseline = await take();
  keepBaseline(file, baseline);
  return baseline;
}

/**
 * Takes the tree every host's container of `image` starts from, in a
 * container of its own, while the preflight resolves the hosts (its second of
 * Ansible leaves a core idle): the hosts' containers then start from a known
 * baseline, the first one included. Hosts built later on another image (a
 * name moved meanwhile) take theirs as before. Nothing when the image is not
 * local yet.
 */
export async function takeConffsBaseline(ctx: Context, image: string): Promise<void> {
  const docker = await ctx.docker();
  // An image still to be pulled is the host resolution's business (and its error to give): no second pull.
  if (!(await imageExists(docker, image))) return;
  const id = await imageId(docker, image);
  await ctx.once(baselineKey(id), () =>
    keptOrTaken(ctx, id, async () => {
      const container = await StageContainer.open(ctx, { image, hostname: 'vauban-baseline', onLine: (line) => ctx.reporter.debug(`  ${line}`), committed: false });
      try {
        return await container.tree(EXCLUDED);
      } finally {
        // The hosts need the tree, not the removal: it goes on meanwhile, and the run waits for it before it ends.
        ctx.cleanup.background(`removal of the baseline container ${container.id.slice(0, 12)}`, container.close());
      }
    }),
  );
}

export interface ConffsInput {
  source: string | undefined;
  prefix: string | undefined;
  /** Resolved by the preflight (A7). */
  hosts: string[] | undefined;
  /** Hosts the inventory gives a MAC address (vauban_mac): they get a boot entry by MAC (B15). */
  macs?: Map<string, string>;
  /** sha256 of each host's inventory variables (issue 12: an input of its conffs). */
  vars?: Map<string, string>;
  /** sha256 of the whole inventory: the input instead when the stages read other hosts (hostvars, groups...). */
  inventory?: string;
  /** Hosts' containers started while the preflight resolved the hosts. */
  ahead?: HostContainersAhead | undefined;
}

export async function buildConffs(ctx: Context, input: ConffsInput, controllers: PlayControllers): Promise<ConffsArtifact[] | undefined> {
  const { source, prefix, hosts } = input;
  if (!ctx.runs('build_conffs') || source === undefined || prefix === undefined || hosts === undefined) return undefined;
  // A shard whose share is empty (more shards than hosts) has nothing to build.
  if (hosts.length === 0) return [];
  ctx.reporter.info(`building conffs for ${hosts.length} host(s): ${hosts.join(' ')}`);

  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(ctx.conffsParallel);
  const artifacts: ConffsArtifact[] = [];
  const counts = { done: 0, failed: 0, running: 0 };

  try {
    await ctx.reporter.step(`build_conffs: ${hosts.length} host(s), ${ctx.conffsParallel} at a time`, async (status) => {
      const show = () => status.update(`${counts.done} done, ${counts.failed} failed, ${counts.running} running, of ${hosts.length}`);
      // allSettled: on Ctrl-C every host's work has stopped before the cleanup runs.
      const settled = await Promise.allSettled(
        hosts.map((host) =>
          limit(async () => {
            // Hosts still queued when the run is interrupted never start.
            throwIfAborted(ctx.signal);
            counts.running++;
            show();
            const log = path.join(ctx.logDir, hostLogName(prefix, host, ctx.runStamp));
            const result: HostResult = { host, ok: false, log };
            ctx.report.hosts.push(result);
            const logStream = openLogFile(log, { secrets: ctx.settings.secrets });
            try {
              const hostInput = { ...conffsHost(input, host, source), prefix, logStream, result, controllers, ahead: input.ahead };
              const artifact = (await reuseHostConffs(ctx, hostInput)) ?? (await buildHostConffs(ctx, hostInput));
              artifacts.push(artifact);
              result.ok = true;
              counts.done++;
            } catch (error) {
              if (ctx.signal.aborted) throw error;
              result.error = (error as Error).message;
              logStream.write(`\nFAILED: ${result.error}\n`);
              counts.failed++;
            } finally {
              counts.running--;
              await logStream.close();
              show();
              if (result.ok) ctx.reporter.info(`[OK] ${host} (log: ${log})`);
              else reportFailedHost(ctx, result);
            }
          }),
        ),
      );
      throwIfAborted(ctx.signal);
      const unexpected = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (unexpected) throw unexpected.reason;
    });
  } finally {
    input.ahead?.discard();
    await controllers.closeAll();
  }
  for (const host of ctx.report.hosts) {
    for (const deleted of host.deletions ?? []) ctx.reporter.info(`${host.host}: a stage deleted /${deleted}; the conffs lists it, the host removes it at boot`);
  }
  if (counts.failed > 0) {
    throw new VaubanError(`conffs failed for ${counts.failed} of ${hosts.length} host(s): ${ctx.report.hosts.filter((one) => !one.ok).map((one) => one.host).join(', ')}`, {
      exitCode: EXIT.someHosts,
    });
  }
  return artifacts.sort((a, b) => a.host.localeCompare(b.host));
}

/**
 * A failed host, as the terminal and a CI job log show it (issue 31): its [KO]
 * line, then what failed and why, and the end of its log, which CI may not keep.
 */
function reportFailedHost(ctx: Context, result: HostResult): void {
  let failure: HostFailure = { tail: [] };
  try {
    failure = summarizeHostLog(readFileSync(result.log, 'utf8'));
  } catch (error) {
    failure = { tail: [`(its log cannot be read: ${(error as Error).message})`] };
  }
  if (failure.task !== undefined) result.failedTask = failure.task;
  if (failure.message !== undefined) result.message = failure.message;
  ctx.reporter.block(`[KO] ${result.host} (log: ${result.log})`, [
    ...(failure.task === undefined ? [] : [`     failed task: ${failure.task}`]),
    `     message: ${failure.message ?? result.error ?? 'none given'}`,
    '     last lines of its log:',
    ...failure.tail.map((line) => `       | ${line}`),
  ]);
}

/**
 * Starts the controller the first stage's plays will most likely ask for (the
 * settings of stage.sh's environment and of the image's, as when no hook
 * exports any), as soon as a host is to be built (a run that reuses every
 * conffs starts none; the preflight's host resolution has often started it
 * already), while the hosts' containers boot: its Ansible is loaded by the
 * time the first host's play begins. A host whose settings differ gets its
 * own controller then.
 */
async function startFirstController(ctx: Context, source: string, controllers: PlayControllers): Promise<void> {
  const first = ctx.options.stages[0];
  if (first === undefined) return;
  // A failure here is the first host's to report, when it asks for this controller.
  await controllers.likely(source, first.branch ?? ctx.options.branch).catch(() => undefined);
}

interface HostInput extends ConffsHost {
  prefix: string;
  ahead?: HostContainersAhead | undefined;
  /** The run's Ansible controllers (issue 11): one per source image, branch commit and Ansible settings, shared by the hosts. */
  controllers: PlayControllers;
  logStream: LogFile;
  result: HostResult;
  /** Why the cache builds it, once decided. */
  pending?: string;
}

/**
 * This run's folder of the host's conffs, made now; at the end of the run it is
 * renamed <time>-overlayfs-<host> (A12): never uploaded twice.
 */
function openConffsFolder(ctx: Context, host: string): { folder: string; tarball: string } {
  const tarball = ctx.output(plannedConffsArchive(ctx.plan, host).file);
  const folder = path.dirname(tarball);
  mkdirSync(folder, { recursive: true });
  ctx.cleanup.push(`conffs folder of ${host}`, async () => renameSync(folder, ctx.output(keptConffsFolder(ctx.runStamp, host))));
  return { folder, tarball };
}

/**
 * The host's conffs of an earlier run, when its inputs are unchanged and the
 * file still matches its record: hard-linked into this run's folder (same
 * bytes, no copy), as if built. Undefined: build it.
 */
async function reuseHostConffs(ctx: Context, input: HostInput): Promise<ConffsArtifact | undefined> {
  const { host } = input;
  const { decision, last } = await decideConffs(ctx, input, input.controllers);
  input.pending = decision.reason;
  if (decision.action !== 'reuse' || decision.record === undefined || last === undefined) {
    input.logStream.write(`conffs of ${host}: build (${decision.reason})\n`);
    return undefined;
  }
  const { folder, tarball } = openConffsFolder(ctx, host);
  linkSync(last, tarball);
  copyFileSync(recordFileOf(last), recordFileOf(tarball));
  input.result.deletions = JSON.parse(decision.record.facts.deletions ?? '[]') as string[];
  input.logStream.write(`conffs of ${host}: reused ${last} (${decision.reason})\n`);
  ctx.report.cache.push({ kind: 'conffs', name: host, action: 'reuse', reason: decision.reason, id: decision.record.sha256 });
  return { host, tarball, folder, ...(input.mac === undefined ? {} : { byMac: writeMacEntry(folder, host, input.mac) }) };
}

/**
 * One host: a container of the source image as that host (systemd as PID 1),
 * every stage applied in it, its sshd keys put in, then what the container
 * changed, read through the Engine API and packed. No image is built or
 * committed per host.
 */
async function buildHostConffs(ctx: Context, input: HostInput): Promise<ConffsArtifact> {
  const { host, source, logStream } = input;
  const write = (line: string) => logStream.write(`${line}\n`);
  // Where a host's time goes, in its log: the figures the conffs benchmark reads.
  let mark = Date.now();
  const timing: string[] = [];
  const lap = (what: string) => {
    const now = Date.now();
    timing.push(`${what} ${((now - mark) / 1000).toFixed(2)} s`);
    mark = now;
  };
  void ctx.once(`first-controller:${source}`, () => startFirstController(ctx, source, input.controllers)).catch(() => undefined);
  const container = await (input.ahead?.take(host, write) ?? StageContainer.open(ctx, { image: source, hostname: host, onLine: write, committed: false }));
  try {
    // The tree when the work began, read in the first container of the source image only: its
    // hosts' containers start from the same image and boot alike (a name made at boot that
    // differs between them is no file of the image: its loss or its gain changes no host).
    // Taken meanwhile by the preflight, it is needed only once the stages are done; read here,
    // it is read before this container's stages begin.
    let listedHere = false;
    const baseline = ctx.once(baselineKey(container.imageId), () => {
      listedHere = true;
      return keptOrTaken(ctx, container.imageId, () => container.tree(EXCLUDED));
    });
    baseline.catch(() => undefined);
    if (listedHere) await baseline;
    lap('container up');
    for (const [index, stage] of ctx.options.stages.entries()) {
      throwIfAborted(ctx.signal);
      const branch = stage.branch ?? ctx.options.branch;
      const commit = await ctx.ansible.commit(branch);
      write(`stage ${index + 1}/${ctx.options.stages.length}: ${stage.playbook} from branch ${branch} (${commit.sha.slice(0, 10)}) on ${source} as ${host}`);
      const controllerOf = (hello: PlayHello) => input.controllers.of(container.imageId, branch, commit, controllerEnv(helloEnv(hello)));
      try {
        await container.applyStage({ stage, branch, commit, source, checkRequirements: false }, controllerOf);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        throw new VaubanError(`stage ${stage.playbook} (branch ${branch}) failed for ${host}: ${(error as Error).message}`, { cause: error });
      }
    }
    lap('stages');
    // The sshd keys go in with the listing of the changes, in one exec.
    const changes = await container.changesSince(await baseline, EXCLUDED, { dir: '/etc', tar: await sshdKeysTar(await sshdKeysFor(ctx.keyVault, host)) });
    lap('sshd keys and changes');
    const excluded = [...EXCLUDED, ...container.bootNoise];
    const kept = (file: string) => !excluded.some((prefix) => file === prefix || file.startsWith(`${prefix}/`));
    const relative = changes.filter((change) => change.path !== '' && kept(change.path));
    input.result.deletions = relative.filter((change) => change.kind === 'deleted').map((change) => change.path).sort();
    const { listed, unlisted } = listableDeletions(input.result.deletions);
    for (const deleted of listed) write(`the stages deleted /${deleted}: listed in the conffs (${DELETIONS_MEMBER}), removed at boot`);
    for (const deleted of unlisted) write(`WARNING: the stages deleted /${JSON.stringify(deleted)}, a path the conffs cannot list: it stays on the booted host`);
    const members = relative.filter((change) => change.kind !== 'deleted').map((change) => change.path);
    if (members.some((member) => member === RESERVED_FOLDER || member.startsWith(`${RESERVED_FOLDER}/`))) {
      throw new VaubanError(`a stage wrote /${RESERVED_FOLDER}, which vauban reserves for the conffs' list of deletions`);
    }
    // Docker bind-mounts /etc/hostname in a running container: the host's name is in it either way.
    if (!members.includes('etc/hostname')) members.push('etc', 'etc/hostname');

    const { folder, tarball } = openConffsFolder(ctx, host);
    const temporary = temporaryFileFor(tarball, ctx.runId, ctx.cleanup);
    const count = await packConffs(container, members, temporary.path, ctx.signal, listed);
    await temporary.commit();
    const sha256 = await writeArtifactRecord(tarball, await conffsParts(ctx, input, input.controllers), { deletions: JSON.stringify(input.result.deletions) });
    ctx.report.cache.push({ kind: 'conffs', name: host, action: 'build', reason: input.pending ?? 'built', id: sha256 });
    lap('changes and pack');
    write(`conffs written: ${tarball} (${count} members)`);
    return { host, tarball, folder, ...(input.mac === undefined ? {} : { byMac: writeMacEntry(folder, host, input.mac) }) };
  } finally {
    // Its removal goes on while the next host starts (the run waits for it before it ends).
    ctx.cleanup.background(`removal of ${host}'s container ${container.id.slice(0, 12)}`, container.close());
    write(`timing: ${timing.join(', ')}`);
  }
}

/** The host's boot entry by MAC address (B15), generated with its conffs: uploaded to UPLOAD_DIR/boot/by-mac/. */
function writeMacEntry(folder: string, host: string, mac: string): { mac: string; file: string } {
  const file = macEntryIn(folder, mac);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, macEntry(host, mac), { mode: 0o644 });
  return { mac, file };
}
