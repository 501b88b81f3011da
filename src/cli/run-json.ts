// `--json` on a real run (B8, B16): what the run made, for scripts, on stdout
// (the human lines went to stderr). The document has the dry run's `options`
// and `plan` as they were, and a `result`: the exit reason, every step timed,
// the images built or reused with their ids, the artifacts with their size
// and sha256, each conffs host OK/KO with its log, what was uploaded.
import { installDir } from '../install-dir.js';
import { documentHeader } from './version.js';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { conffsArchive, keptConffsArchive } from '../model/local-layout.js';
import type { VaubanOptions } from '../model/options.js';
import { OS_NAME_PLACEHOLDER, type Plan, type PlannedImage } from '../model/plan.js';
import type { StepTiming } from '../reporter.js';
import { imageDocument, optionsDocument, planDocument } from './print-plan.js';
import type { SessionOutcome } from './session.js';

export interface RunJsonInput {
  options: VaubanOptions;
  plan: Plan;
  outcome: SessionOutcome;
  timings: readonly StepTiming[];
  /** Where the run wrote its outputs (the working directory). */
  outputDir: string;
  /** The time stamp the run's conffs folders were renamed with at its end (A12); undefined when the run never started its work. */
  runStamp: string | undefined;
  /** The id of an image, undefined when there is no such image. */
  imageId: (name: string) => Promise<string | undefined>;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The plan's image of that name; names still holding the OS name placeholder match any OS name. */
function plannedImage(plan: Plan, name: string): PlannedImage | undefined {
  return plan.images.find((image) => {
    if (!image.name.includes(OS_NAME_PLACEHOLDER)) return image.name === name;
    const pattern = image.name.split(OS_NAME_PLACEHOLDER).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+');
    return new RegExp(`^${pattern}$`).test(name);
  });
}

async function artifactDocument(outputDir: string, file: string) {
  if (!existsSync(file)) return { name: path.relative(outputDir, file), path: file, size: null, sha256: null };
  return { name: path.relative(outputDir, file), path: file, size: statSync(file).size, sha256: await sha256File(file) };
}

/** A host's conffs archive where the end of the run left it: overlayfs/<time>-overlayfs-<host>/ (A12), else where it was made. */
function conffsArchiveLeft(input: RunJsonInput, host: string): string | undefined {
  if (input.runStamp === undefined) return undefined;
  return [keptConffsArchive(input.runStamp, host), conffsArchive(host)].map((file) => path.join(input.outputDir, file)).find((file) => existsSync(file));
}

/** The document of a run that ended before any work (bad settings, not root, nothing to do): the same shape, nothing made. */
export function unstartedRunToJson(options: VaubanOptions, plan: Plan | undefined, exitCode: number, reason: string): string {
  const now = new Date().toISOString();
  const result = { ok: exitCode === 0, exit_code: exitCode, exit_reason: reason, started_at: now, finished_at: now, seconds: 0, steps: [], images: [], artifacts: [], hosts: [], uploaded: [], logs: [], new_vault_entries: [] };
  return `${JSON.stringify({ ...documentHeader(installDir()), options: optionsDocument(options), plan: plan === undefined ? null : planDocument(plan), result }, null, 2)}\n`;
}

export async function runToJson(input: RunJsonInput): Promise<string> {
  const { options, plan, outcome } = input;
  const { report } = outcome;

  // The source the stages were applied on is reused, not built.
  const usesSource = options.sourceImage !== undefined && plan.steps.some((step) => step.id === 'apply_stages' || step.id === 'build_conffs');
  const names = [...(usesSource && options.sourceImage !== undefined ? [options.sourceImage] : []), ...new Set(report.images)];
  const images = [];
  for (const [index, name] of names.entries()) {
    // Issue 12: an image of an earlier run with the same inputs, tagged again, is reused.
    const decided = report.cache.find((entry) => entry.kind === 'image' && entry.name === name);
    const built = decided === undefined ? !(usesSource && index === 0) : decided.action === 'build';
    const planned = plannedImage(plan, name);
    images.push({
      ...(planned === undefined ? { name, from: null, step: null, playbook: null, branch: null, hostname: null } : { ...imageDocument(planned), name }),
      id: (await input.imageId(name)) ?? null,
      built,
      cache_reason: decided?.reason ?? null,
    });
  }

  const hosts = report.hosts.map((host) => ({
    host: host.host,
    ok: host.ok,
    log: host.log,
    conffs: host.ok ? (conffsArchiveLeft(input, host.host) ?? null) : null,
    error: host.error ?? null,
    failed_task: host.failedTask ?? null,
    message: host.message ?? null,
    deletions: host.deletions ?? [],
  }));
  const artifactFiles = [...report.artifacts, ...hosts.flatMap((host) => (host.conffs === null ? [] : [host.conffs]))];
  const artifacts = [];
  for (const file of artifactFiles) artifacts.push(await artifactDocument(input.outputDir, file));

  const exitReason = outcome.interruptedBy !== undefined ? `interrupted by ${outcome.interruptedBy}` : (outcome.failure ?? (outcome.exitCode === 0 ? 'success' : `exit status ${outcome.exitCode}`));
  const document = {
    options: optionsDocument(options),
    plan: planDocument(plan),
    result: {
      ok: outcome.exitCode === 0,
      exit_code: outcome.exitCode,
      exit_reason: exitReason,
      started_at: outcome.startedAt.toISOString(),
      finished_at: outcome.finishedAt.toISOString(),
      seconds: Math.round((outcome.finishedAt.getTime() - outcome.startedAt.getTime()) / 100) / 10,
      steps: input.timings.map((timing) => ({
        step: /^[a-z_]+/.exec(timing.title)?.[0] ?? timing.title,
        title: timing.title,
        ok: timing.ok,
        seconds: Math.round(timing.seconds * 10) / 10,
      })),
      images,
      artifacts,
      hosts,
      uploaded: report.uploaded,
      // Per image, artifact and conffs: reused or built, and why (the dry run's plan.cache.entries, as it went).
      cache: report.cache.map((entry) => ({ kind: entry.kind, name: entry.name, action: entry.action, reason: entry.reason })),
      logs: report.logs,
      new_vault_entries: report.newVaultEntries,
    },
  };
  return `${JSON.stringify({ ...documentHeader(installDir()), ...document }, null, 2)}\n`;
}
