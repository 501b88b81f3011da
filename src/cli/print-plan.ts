// --dry-run output: the plan as text for people, or as JSON for scripts (B4);
// a real run's --json document shares its parts (src/cli/run-json.ts).
import { installDir } from '../install-dir.js';
import { documentHeader } from './version.js';
import type { VaubanOptions } from '../model/options.js';
import type { Plan, PlannedImage } from '../model/plan.js';
import type { PredictedEntry } from '../cache/predict.js';
import { formatStage } from '../model/stage.js';

/** The dry run's reuse-or-build per image and artifact (issue 12), or why it could not be looked up. */
export interface DryRunCache {
  entries: PredictedEntry[];
  unknown?: string;
  osName?: string;
}

/** The dry run's reuse-or-build, as --json prints it (`cache`, beside the plan: a run's document has its plan and, in `result.cache`, what it did). */
function cacheDocument(options: VaubanOptions, cache: DryRunCache) {
  return {
    no_cache: options.noCache,
    entries: cache.entries.map((entry) => ({ kind: entry.kind, name: entry.name, action: entry.action, reason: entry.reason })),
    not_looked_up: cache.unknown ?? null,
  };
}

/** The resolved options, as --json prints them (the dry run and the run alike). */
export function optionsDocument(options: VaubanOptions) {
  return {
    rootfs: options.rootfs,
    initramfs: options.initramfs,
    conffs: options.conffs,
    upload: options.upload,
    iso: options.iso ?? null,
    debian_release: options.debianRelease ?? null,
    source_image: options.sourceImage ?? null,
    ssh_priv_key: options.sshPrivKey,
    name: options.name,
    branch: options.branch,
    ansible_host: options.ansibleHost ?? null,
    stages: options.stages.map((stage) => ({ stage: formatStage(stage), playbook: stage.playbook, branch: stage.branch ?? options.branch })),
  };
}

/** One image of the plan, as --json prints it (a run's images add their id). */
export function imageDocument(image: PlannedImage) {
  return {
    name: image.name,
    from: image.from,
    step: image.step,
    playbook: image.playbook ?? null,
    branch: image.branch ?? null,
    hostname: image.hostname ?? null,
  };
}

/** The plan, as --json prints it. */
export function planDocument(plan: Plan) {
  return {
    steps: plan.steps.map((step) => step.id),
    prefix: plan.prefix,
    source: plan.source ?? null,
    images: plan.images.map(imageDocument),
    conffs: plan.conffs
      ? {
          pattern: plan.conffs.pattern,
          hosts: plan.conffs.hosts ?? null,
          kept_as: plan.conffs.keptAs,
          ...(plan.conffs.shard === undefined ? {} : { shard: { index: plan.conffs.shard.index, total: plan.conffs.shard.total, hosts_selected: plan.conffs.shard.selected ?? null } }),
        }
      : null,
    artifacts: plan.artifacts.map((artifact) => artifact.file),
    uploads: plan.uploads.map((upload) => ({
      server: upload.server,
      local: upload.local ?? null,
      remote: upload.remote,
      symlink_to: upload.target ?? null,
      generated: upload.generated ?? null,
    })),
    registry: plan.registry ?? null,
  };
}

export function planToJson(options: VaubanOptions, plan: Plan, problems: string[], cache: DryRunCache = { entries: [] }): string {
  return `${JSON.stringify({ ...documentHeader(installDir()), options: optionsDocument(options), plan: planDocument(plan), cache: cacheDocument(options, cache), problems }, null, 2)}\n`;
}

export function planToText(options: VaubanOptions, plan: Plan, problems: string[], cache: DryRunCache = { entries: [] }): string {
  const lines: string[] = [];
  lines.push(`Plan for ${options.name} (dry run: nothing is built)`);
  lines.push('', 'Steps:');
  plan.steps.forEach((step, index) => lines.push(`  ${index + 1}. ${step.id.padEnd(13)} ${step.description}`));
  if (plan.steps.length === 0) lines.push('  (none: every step is switched off)');
  if (options.stages.length > 0) {
    lines.push('', 'Stages:');
    for (const stage of options.stages) lines.push(`  - ${stage.playbook} (branch ${stage.branch ?? options.branch})`);
  }
  if (plan.images.length > 0) {
    lines.push('', 'Images:');
    for (const image of plan.images) {
      const as = image.hostname ? `, as ${image.hostname}` : '';
      const branch = image.branch ? `, branch ${image.branch}` : '';
      lines.push(`  ${image.name}  <- ${image.from}${image.playbook ? ` + ${image.playbook}` : ''}${branch}${as}`);
    }
  }
  if (cache.entries.length > 0 || cache.unknown !== undefined) {
    lines.push('', 'Reuse or build:');
    for (const entry of cache.entries) lines.push(`  ${entry.action.padEnd(7)} ${entry.kind} ${entry.name}: ${entry.reason}`);
    if (cache.unknown !== undefined) lines.push(`  (${cache.unknown})`);
  }
  if (plan.conffs) {
    const hosts = plan.conffs.hosts ? plan.conffs.hosts.join(', ') : 'resolved by ansible at run time';
    const shard = plan.conffs.shard;
    const share = shard === undefined ? '' : ` (shard ${shard.index}/${shard.total}${shard.selected === undefined ? '' : `: ${plan.conffs.hosts?.length ?? 0} of the ${shard.selected} hosts selected`})`;
    lines.push('', `Conffs hosts: '${plan.conffs.pattern}',!master-* -> ${hosts || 'none in this shard'}${share}`);
    lines.push(`  each host's archive is kept as ${plan.conffs.keptAs} once the run has ended`);
  }
  if (plan.artifacts.length > 0) {
    lines.push('', 'Artifacts:');
    for (const artifact of plan.artifacts) lines.push(`  ${artifact.file}`);
  }
  if (plan.uploads.length > 0) {
    lines.push('', 'Uploads:');
    for (const upload of plan.uploads) {
      if (upload.local !== undefined) lines.push(`  ${upload.server}:${upload.remote}  <- ${upload.local}`);
      else if (upload.generated !== undefined) lines.push(`  ${upload.server}:${upload.remote}  (generated: ${upload.generated})`);
      else lines.push(`  ${upload.server}:${upload.remote} -> ${upload.target ?? ''}`);
    }
  }
  lines.push('', `Registry: ${plan.registry ? `${plan.registry}/vauban/...` : 'none (images stay local)'}`);
  if (problems.length > 0) {
    lines.push('', 'Problems (the run would stop on these):');
    for (const problem of problems) lines.push(`  - ${problem}`);
  }
  return `${lines.join('\n')}\n`;
}
