// vauban-ci's whole logic (A13), pure: from the master tree and a request
// (master, stage, branch, build_parents), the ordered list of `vauban`
// invocations that ci.py would have run.
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { chainOf, findMaster, type Master, type MasterTree } from '../config/master-tree.js';
import { parseStage } from '../model/stage.js';

export const CI_STAGES = ['rootfs', 'conffs', 'initramfs', 'all', 'promote'] as const;
export type CiStage = (typeof CI_STAGES)[number];
type BuildKind = Exclude<CiStage, 'all'>;

export interface CiRequest {
  name: string;
  stage: CiStage;
  branch: string;
  /** How many levels of parents to build first; Infinity for all of them. */
  buildParents: number;
  /** --no-cache for every invocation (vauban-ci --no-cache, or configuration.no_cache of config.yml). */
  noCache?: boolean;
  /**
   * The staged release the requested master's uploads join as shares (issue 29), and that the promote stage makes
   * live; undefined: each upload is a live release of its own, as before.
   */
  release?: string;
  /** This job's share of the master's conffs hosts (GitLab's parallel: CI_NODE_INDEX/CI_NODE_TOTAL). */
  shard?: { index: number; total: number };
  /** For the promote stage: how many shards the conffs job was cut in (its `parallel:`). */
  shards?: number;
}

export interface Invocation {
  master: string;
  kind: BuildKind;
  /** Arguments of `vauban`, without the program name (`promote ...` for the promote stage). */
  args: string[];
}

export interface PlanInvocationsOptions {
  cwd: string;
  /** Where base files are looked up first (A13: /srv/iso/). */
  isoDir: string;
  exists: (file: string) => boolean;
}

export function parseCiStage(value: string): CiStage {
  if ((CI_STAGES as readonly string[]).includes(value)) return value as CiStage;
  throw new VaubanError(`unknown stage '${value}': expected one of ${CI_STAGES.join(', ')}`);
}

/** `yes` or -1 mean every ancestor; N means N levels; empty or `no` mean none. */
export function parseBuildParents(value: string | undefined): number {
  if (value === undefined || value === '' || value === 'no' || value === 'false' || value === '0') return 0;
  if (value === 'yes' || value === 'true' || value === '-1') return Infinity;
  if (/^[1-9][0-9]*$/.test(value)) return Number(value);
  throw new VaubanError(`invalid build_parents '${value}': expected yes, -1 or a number of levels`);
}

export function planInvocations(tree: MasterTree, request: CiRequest, options: PlanInvocationsOptions): Invocation[] {
  const requested = findMaster(tree, request.name);
  const invocations: Invocation[] = [];
  if (request.shard !== undefined && request.stage !== 'conffs') {
    throw new VaubanError(`a sharded job (CI_NODE_INDEX ${request.shard.index}/${request.shard.total}) builds conffs only: its stage is ${request.stage}, not conffs`);
  }
  if (request.shard !== undefined && request.release === undefined) {
    throw new VaubanError('a sharded conffs job uploads into a staged release: set staged=yes (the release is named after the pipeline) or release=<name>');
  }
  if (request.stage === 'promote') {
    if (request.release === undefined) throw new VaubanError('the promote stage makes a staged release live: set staged=yes (the release is named after the pipeline) or release=<name>');
    return [{ master: requested.name, kind: 'promote', args: ['promote', requested.name, request.release, ...(request.shards === undefined ? [] : ['--shards', String(request.shards)])] }];
  }

  // As ci.py: a requested branch other than `master` wins; otherwise the
  // master's own `branch`. The resolved branch is handed down to the parents
  // built first, so a master's branch also applies to its ancestors.
  const resolveBranch = (master: Master, incoming: string): string =>
    incoming !== 'master' ? incoming : (master.branch ?? 'master');
  // Upload only the requested master and the masters that have hosts; never the base.
  const uploadOf = (master: Master): 'yes' | 'no' =>
    master.parent !== undefined && (master === requested || master.conffs !== undefined) ? 'yes' : 'no';
  const baseFileOf = (master: Master): string => {
    const inIsoDir = path.join(options.isoDir, master.baseFile);
    return options.exists(inIsoDir) ? inIsoDir : path.resolve(options.cwd, master.baseFile);
  };
  const noCache = request.noCache === true || tree.noCache;
  const flags = (rootfs: boolean, initramfs: boolean, conffs: boolean, upload: 'yes' | 'no', master?: Master): string[] => [
    '--rootfs', rootfs ? 'yes' : 'no',
    '--initramfs', initramfs ? 'yes' : 'no',
    '--conffs', conffs ? 'yes' : 'no',
    '--upload', upload,
    ...(noCache ? ['--no-cache'] : []),
    // The requested master's uploads are shares of the staged release; its parents' are released as before.
    ...(master === requested && upload === 'yes' && request.release !== undefined ? ['--release', request.release] : []),
    ...(master === requested && conffs && request.shard !== undefined ? ['--shard', `${request.shard.index}/${request.shard.total}`] : []),
  ];

  const build = (master: Master, kind: BuildKind, branch: string): void => {
    if (kind === 'rootfs') {
      const base = master.parent === undefined ? ['--iso', baseFileOf(master)] : ['--source-image', master.parent.name];
      invocations.push({
        master: master.name,
        kind,
        args: [...base, '--name', master.name, ...flags(true, false, false, uploadOf(master), master), '--branch', branch, ...master.stages],
      });
    } else if (kind === 'conffs') {
      if (master.conffs === undefined) return; // nothing to do without hosts
      const ignored = new Set(tree.ignoreStageInConffs);
      const stages = chainOf(master)
        .flatMap((one) => one.stages)
        .filter((stage) => !ignored.has(stage) && !ignored.has(parseStage(stage).playbook));
      invocations.push({
        master: master.name,
        kind,
        args: [
          '--source-image', master.name,
          '--name', master.name,
          '--ansible-host', master.conffs,
          ...flags(false, false, true, uploadOf(master), master),
          '--branch', branch,
          ...stages,
        ],
      });
    } else {
      invocations.push({
        master: master.name,
        kind,
        args: ['--iso', baseFileOf(master), '--name', master.name, ...flags(false, true, false, uploadOf(master), master)],
      });
    }
  };

  const visit = (master: Master, stage: CiStage, parents: number, incomingBranch: string): void => {
    const branch = resolveBranch(master, incomingBranch);
    switch (stage) {
      case 'rootfs':
      case 'all':
        // The parent master first, the same stage, one level fewer.
        if (parents > 0 && master.parent) visit(master.parent, stage, parents - 1, branch);
        if (stage === 'rootfs') build(master, 'rootfs', branch);
        else for (const kind of ['rootfs', 'conffs', 'initramfs'] as const) build(master, kind, branch);
        break;
      case 'promote':
        break;
      case 'conffs':
      case 'initramfs':
        // The parent of a conffs or an initramfs is the master's own rootfs.
        if (parents > 0) visit(master, 'rootfs', parents - 1, branch);
        build(master, stage, branch);
        break;
    }
  };
  visit(requested, request.stage, request.buildParents, request.branch);
  return invocations;
}
