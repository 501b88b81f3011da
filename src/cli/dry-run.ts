// What --dry-run looks up before it prints the plan (B4, issue 12): per image,
// artifact and conffs host, reuse or build and why, as far as it can be known
// without building; and the conffs hosts, resolved as the run's preflight
// resolves them (Ansible in a throw-away container of the source image), when
// that image exists already. The same functions as the run's decide, so the
// two cannot disagree. Nothing a run reuses is written: the branches are
// fetched into a work folder of the dry run's own, removed at its end with the
// container; the output folder (artifacts, records, overlayfs/, vault/) is only
// read. Never fails the dry run: what cannot be looked up is said instead, and
// what would stop the run (a pattern no host matches) is one of its problems.
import path from 'node:path';
import type { PredictedEntry, Prediction } from '../cache/predict.js';
import type { LoadedSettings } from '../config/settings.js';
import { VaubanError } from '../errors.js';
import type { VaubanOptions } from '../model/options.js';
import { HOST_PLACEHOLDER, planRun, type PlanFacts } from '../model/plan.js';
import type { Reporter } from '../reporter.js';
import type { DockerClient } from '../system/docker/client.js';
import type { Context } from '../context.js';
import type { PlayControllers } from '../ansible/play-controller.js';
import type { GitRemote } from '../system/git.js';
import type { DryRunCache } from './print-plan.js';
import type { CommandIo } from './io.js';

export interface DryRunInput {
  io: CommandIo;
  options: VaubanOptions;
  settings: LoadedSettings;
  installDir: string;
  /** What the plan is made from besides the options (planRun). */
  facts: PlanFacts;
  reporter: Reporter;
  /** False when the plan already has problems: nothing is looked up then. */
  inputsOk: boolean;
}

export interface DryRunLookups {
  cache: DryRunCache;
  /** The conffs hosts, when they could be resolved (with --shard, the shard's). */
  hosts?: string[];
  /** How many hosts the pattern selects (every shard's). */
  hostsSelected?: number;
  /** How build_rootfs would read the image: the engine's files here, or through its API. */
  engineFiles?: 'local' | 'api';
  /** What would stop the run, found on the way. */
  problems: string[];
  /** The exit status of a dry run interrupted while it looked things up (Ctrl-C). */
  interrupted?: number;
}

export async function lookUpForDryRun(input: DryRunInput): Promise<DryRunLookups> {
  const { options, settings } = input;
  const none = (unknown?: string): DryRunLookups => ({ cache: { entries: [], ...(unknown === undefined ? {} : { unknown }) }, problems: [] });
  if (!options.rootfs && !options.initramfs && !options.conffs) return none();
  if (!input.inputsOk) return none('not looked up: fix the problems below first');
  const url = settings.values.ANSIBLE_REPO ?? '';
  if (url === '' && (options.rootfs || options.conffs)) return none('not looked up: ANSIBLE_REPO is not set');
  // Each branch's commit, asked once (git ls-remote) for the stages' check and the images' verdicts.
  const { remoteBranchSha } = await import('../system/git.js');
  const { ansibleRemote } = await import('../ansible/remote.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  // The dry run's own private folder (its mirror of the branches, the git server's known hosts), removed at its end.
  let work: string;
  try {
    work = mkdtempSync(path.join(settings.values.VAUBAN_WORK_DIR ?? '/var/tmp', 'vauban-dry-run-'));
  } catch (error) {
    return none(`not looked up: no work folder (${(error as Error).message})`);
  }
  try {
    const remote: GitRemote = ansibleRemote(settings.values, path.resolve(input.io.cwd, options.sshPrivKey), work);
    const shas = new Map<string, Promise<string | undefined>>();
    const branchSha = (branch: string): Promise<string | undefined> => {
      if (!shas.has(branch)) shas.set(branch, remoteBranchSha(remote, branch));
      return shas.get(branch) as Promise<string | undefined>;
    };
    // A typo in a stage (its branch, its playbook) is what the run's preflight stops on: found here too, without Docker.
    const stageProblems = options.stages.length > 0 && (options.rootfs || options.conffs) ? await checkStagesForDryRun(input, remote, branchSha, work) : [];
    const found = await lookUp(input, branchSha);
    return { ...found, problems: [...stageProblems, ...found.problems] };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Each stage's branch and playbook in the Ansible repository, as the run's
 * preflight checks them (AnsibleRepository.assertPlaybook), in a mirror of
 * the dry run's own, removed at its end: the messages of what is missing.
 */
async function checkStagesForDryRun(input: DryRunInput, remote: GitRemote, branchSha: (branch: string) => Promise<string | undefined>, work: string): Promise<string[]> {
  const { AnsibleRepository } = await import('../ansible/repository.js');
  const { options, settings } = input;
  const repository = new AnsibleRepository({ remote, workDir: work, rootDir: settings.values.ANSIBLE_ROOT_DIR, runOptions: {} });
  const problems: string[] = [];
  for (const stage of options.stages) {
    const branch = stage.branch ?? options.branch;
    // A repository that does not answer is no typo: the look-ups below say it was not looked up.
    const sha = await branchSha(branch).catch(() => null);
    if (sha === null) return [];
    if (sha === undefined) {
      problems.push(`branch '${branch}' does not exist in the Ansible repository`);
      continue;
    }
    try {
      await repository.assertPlaybook(branch, stage.playbook);
    } catch (error) {
      problems.push((error as Error).message.split('\n')[0] ?? '');
    }
  }
  return [...new Set(problems)];
}

async function lookUp(input: DryRunInput, branchSha: (branch: string) => Promise<string | undefined>): Promise<DryRunLookups> {
  const { options } = input;
  const none = (unknown?: string): DryRunLookups => ({ cache: { entries: [], ...(unknown === undefined ? {} : { unknown }) }, problems: [] });
  let docker: DockerClient;
  try {
    const { createDockerClient } = await import('../system/docker/client.js');
    docker = await createDockerClient();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 3 s')), 3000);
    });
    await Promise.race([docker.ping(), timeout]).finally(() => clearTimeout(timer));
  } catch (error) {
    return none(`not looked up: dockerd does not answer (${(error as Error).message})`);
  }

  const { engineFilesHere } = await import('../system/docker/layers.js');
  const engineFiles = options.rootfs ? await engineFilesHere(docker).then((here) => (here ? ('local' as const) : ('api' as const)), () => undefined) : undefined;
  // One context of the dry run's own for what Ansible must say (the stages' inventory, the conffs hosts).
  const looked = await withDryRunContext(input, async (ctx, controllers) => {
    let prediction: Prediction = { entries: [] };
    try {
      if (options.rootfs || options.initramfs) prediction = await predictImages(input, docker, branchSha, ctx, controllers);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      return none(`not looked up: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
    const cache: DryRunCache = { entries: prediction.entries, osName: prediction.osName };
    if (!options.conffs) return { cache, problems: [] };

    // The image the hosts' stages are replayed on (A2): -s, else the base image this run imports.
    const source = options.sourceImage ?? prediction.baseImageId;
    const placeholder = (action: PredictedEntry['action'], reason: string): DryRunLookups => ({
      cache: { ...cache, entries: [...cache.entries, { kind: 'conffs', name: HOST_PLACEHOLDER, action, reason }] },
      problems: [],
    });
    if (source === undefined) {
      const built = planRun(options, { ...input.facts, osName: prediction.osName }).source;
      return placeholder('build', options.noCache ? '--no-cache' : `source image ${built ?? ''} built by this run: hosts resolved then`);
    }
    const { imageExists } = await import('../system/docker/images.js');
    if (!(await imageExists(docker, source).catch(() => false))) return placeholder('unknown', `source image ${source} is not local (looked up at run time)`);
    const conffs = await predictConffsHosts(ctx, controllers, source);
    if (conffs.problem !== undefined) return { ...placeholder('unknown', 'the hosts could not be resolved (see the problems below)'), problems: [conffs.problem] };
    if (conffs.unknown !== undefined) return placeholder('unknown', `not looked up: ${conffs.unknown}`);
    return { cache: { ...cache, entries: [...cache.entries, ...conffs.entries] }, hosts: conffs.hosts, hostsSelected: conffs.selected, problems: [] };
  });
  return looked.interrupted !== undefined ? { ...none(), interrupted: looked.interrupted } : { ...looked.value, ...(engineFiles === undefined ? {} : { engineFiles }) };
}

/**
 * Runs `work` with a context of the dry run's own (its work folder, its
 * cleanup, Ctrl-C honoured) and the Ansible controllers it opens.
 */
async function withDryRunContext(input: DryRunInput, work: (ctx: Context, controllers: PlayControllers) => Promise<DryRunLookups>): Promise<{ value: DryRunLookups; interrupted?: undefined } | { interrupted: number }> {
  const { runLifecycle } = await import('./lifecycle.js');
  const { Context } = await import('../context.js');
  const { createWorkDir } = await import('../system/work-dir.js');
  const { emptyReport } = await import('../model/run-report.js');
  const { PlayControllers } = await import('../ansible/play-controller.js');
  let value: DryRunLookups | undefined;
  const outcome = await runLifecycle({
    reporter: input.reporter,
    debug: input.options.debug,
    work: async ({ cleanup, signal }) => {
      const ctx = new Context({
        options: input.options,
        settings: input.settings,
        facts: input.facts,
        reporter: input.reporter,
        cleanup,
        report: emptyReport(),
        signal,
        cwd: input.io.cwd,
        installDir: input.installDir,
        workDir: createWorkDir(input.settings.values.VAUBAN_WORK_DIR ?? '/var/tmp', cleanup),
      });
      const controllers = new PlayControllers(ctx);
      try {
        value = await work(ctx, controllers);
      } finally {
        await controllers.closeAll();
      }
      return 0;
    },
  });
  if (outcome.interruptedBy !== undefined) return { interrupted: outcome.exitCode };
  return { value: value ?? { cache: { entries: [], unknown: `not looked up: ${outcome.failure ?? 'the look-up failed'}` }, problems: [] } };
}

/** Images and artifacts: from the local images (read only) and the branches' commits (git ls-remote). */
async function predictImages(input: DryRunInput, docker: DockerClient, branchSha: (branch: string) => Promise<string | undefined>, ctx: Context, controllers: PlayControllers): Promise<Prediction> {
  const { options, settings } = input;
  const { predictCache } = await import('../cache/predict.js');
  const { listInventory } = await import('../ansible/resolve-hosts.js');
  const { stageReads } = await import('../ansible/stage-reads.js');
  // As apply_stages reads them (issue 28): the branch fetched into the dry run's own mirror, the inventory listed by Ansible in the source.
  const readsOf = async (source: string, branch: string, hostname: string) => {
    try {
      return await stageReads(ctx.ansible, await ctx.ansible.commit(branch), hostname, await listInventory(ctx, source, branch, hostname, controllers));
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      return `the inventory could not be listed: ${(error as Error).message.split('\n')[0] ?? ''}`;
    }
  };
  const { cachePolicyOf, settleRunValues } = await import('../model/run-values.js');
  const policy = cachePolicyOf(settleRunValues(options, settings.values), new Date());
  return predictCache({ options, settings: settings.values, policy, cwd: input.io.cwd, installDir: input.installDir, docker, branchSha, stageReads: readsOf });
}

interface ConffsLookup {
  hosts?: string[];
  selected?: number;
  entries: PredictedEntry[];
  /** Why the run would stop (the preflight's message). */
  problem?: string;
  /** Why it could not be looked up. */
  unknown?: string;
  interrupted?: number;
}

/**
 * The hosts of -a resolved in `source` by the preflight's own function, then
 * each host's reuse or build by build_conffs' own decision.
 */
async function predictConffsHosts(ctx: Context, controllers: PlayControllers, source: string): Promise<ConffsLookup> {
  const { resolveHosts } = await import('../ansible/resolve-hosts.js');
  const { conffsHost, decideConffs } = await import('../conffs/decision.js');
  try {
    const resolved = await resolveHosts(ctx, source, controllers);
    const entries: PredictedEntry[] = [];
    for (const host of resolved.hosts) {
      const { decision } = await decideConffs(ctx, conffsHost(resolved, host, source), controllers);
      entries.push({ kind: 'conffs', name: host, action: decision.action, reason: decision.reason });
    }
    return { hosts: resolved.hosts, selected: resolved.selected, entries };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const line = (error as Error).message.split('\n')[0] ?? '';
    return error instanceof VaubanError ? { entries: [], problem: line } : { entries: [], unknown: line };
  }
}
