// vauban-ci's whole logic (A13), pure: from the master tree and a request
// (master, stage, branch, build_parents), the ordered list of `vauban`
// invocations that ci.py would have run.
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { chainOf, findMaster, type Master, type MasterTree } from '../config/master-tree.js';
import { parseStage } from '../model/stage.js';

export const CI_STAGES = ['rootfs', 'conffs', 'initramfs', 'all'] as const;
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
}

export interface Invocation {
  master: string;
  kind: BuildKind;
  /** Arguments of `vauban`, without the program name. */
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
  const flags = (rootfs: boolean, initramfs: boolean, conffs: boolean, upload: 'yes' | 'no'): string[] => [
    '--rootfs', rootfs ? 'yes' : 'no',
    '--initramfs', initramfs ? 'yes' : 'no',
    '--conffs', conffs ? 'yes' : 'no',
    '--upload', upload,
    ...(noCache ? ['--no-cache'] : []),
  ];

  const build = (master: Master, kind: BuildKind, branch: string): void => {
    if (kind === 'rootfs') {
      const base = master.parent === undefined ? ['--iso', baseFileOf(master)] : ['--source-image', master.parent.name];
      invocations.push({
        master: master.name,
        kind,
        args: [...base, '--name', master.name, ...flags(true, false, false, uploadOf(master)), '--branch', branch, ...master.stages],
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
          ...flags(false, false, true, uploadOf(master)),
          '--branch', branch,
          ...stages,
        ],
      });
    } else {
      invocations.push({
        master: master.name,
        kind,
        args: ['--iso', baseFileOf(master), '--name', master.name, ...flags(false, true, false, uploadOf(master))],
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
