// apply_stages (A4, B10): one container per stage, created from the previous
// stage's image with systemd as PID 1, stage.sh run in it, then committed as
// <prefix>/<playbook>; the last one is also tagged with the final name.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decideImage } from '../cache/decide-image.js';
import { cacheLabels, imageId } from '../cache/image-cache.js';
import { sha256Hex } from '../cache/inputs.js';
import { stagePartsFrom } from '../cache/parts.js';
import type { Context } from '../context.js';
import { EXIT, VaubanError, throwIfAborted } from '../errors.js';
import { stageImageName } from '../image-name.js';
import type { Stage } from '../stage.js';
import { tagImage } from '../system/docker/images.js';
import { StageContainer } from './stage-container.js';

export interface ApplyStagesInput {
  source: string;
  prefix: string;
  stages: readonly Stage[];
  /** The name ansible plays as: the master's name, or a conffs host. */
  hostname: string;
  /** The tag of the last image. */
  finalName: string;
  /** Where each line of the builds goes. */
  onLine: (line: string) => void;
}

export interface AppliedStage {
  stage: Stage;
  branch: string;
  image: string;
}

/** The rootfs's stages: the master's name, applied on the source. */
export async function applyStages(ctx: Context, source: string | undefined, prefix: string | undefined): Promise<string | undefined> {
  if (!ctx.runs('apply_stages') || source === undefined || prefix === undefined) return undefined;
  await ctx.reporter.step(`apply_stages: ${ctx.options.name} (${ctx.options.stages.length} stage(s) on ${source})`, async (status) => {
    await applyStagesAs(ctx, {
      source,
      prefix,
      stages: ctx.options.stages,
      hostname: ctx.options.name,
      finalName: ctx.options.name,
      onLine: (line) => {
        status.update(line.slice(0, 60));
        ctx.reporter.line(`  │ ${line}`);
      },
    });
  });
  ctx.report.images.push(ctx.options.name);
  return ctx.options.name;
}

/** Fails before any build when a stage's branch or playbook does not exist. */
export async function checkStages(ctx: Context, stages: readonly Stage[]): Promise<void> {
  for (const stage of stages) await ctx.ansible.assertPlaybook(stage.branch ?? ctx.options.branch, stage.playbook);
}

/** Applies the stages as `hostname`, one container and one commit per stage; returns the images made, in order. */
export async function applyStagesAs(ctx: Context, input: ApplyStagesInput): Promise<AppliedStage[]> {
  const docker = await ctx.docker();
  if (!(await ctx.registry.ensureLocal(input.source))) {
    throw new VaubanError(`source image ${input.source} does not exist`, { hint: 'build it first, or check --source-image', exitCode: EXIT.usage });
  }
  const applied: AppliedStage[] = [];
  const settings = ctx.settings.values;
  const script = sha256Hex(readFileSync(path.join(ctx.installDir, 'stage.sh')));
  let from = input.source;
  // The source itself is no build of this run: its stages are judged on their own inputs.
  let parentRebuilt = false;
  for (const [index, stage] of input.stages.entries()) {
    throwIfAborted(ctx.signal);
    const branch = stage.branch ?? ctx.options.branch;
    const image = stageImageName(input.prefix, stage.playbook);
    // The commit decides; the working copy is made only for a build (by applyStage).
    const commit = await ctx.ansible.commit(branch);
    const parts = stagePartsFrom(settings, { parent: await imageId(docker, from), playbook: stage.playbook, branch, commit: commit.sha, hostname: input.hostname, script });
    const decision = await decideImage(ctx, { name: image, parts, parentRebuilt });
    if (decision.action === 'reuse' && decision.reused !== undefined) {
      await tagImage(docker, decision.reused.id, image);
      input.onLine(`stage ${index + 1}/${input.stages.length}: ${stage.playbook}: reused ${image} (${decision.reused.id.slice(7, 19)}): ${decision.reason}`);
      ctx.report.cache.push({ kind: 'image', name: image, action: 'reuse', reason: decision.reason, id: decision.reused.id });
    } else {
      input.onLine(`stage ${index + 1}/${input.stages.length}: ${stage.playbook} from branch ${branch} (${commit.sha.slice(0, 10)}) on ${from} as ${input.hostname} -> ${image} (build: ${decision.reason})`);
      const started = Date.now();
      let container: StageContainer | undefined;
      let id: string;
      try {
        container = await StageContainer.open(ctx, { image: from, hostname: input.hostname, onLine: input.onLine, committed: true });
        await container.applyStage({ stage, branch, commit, source: from, checkRequirements: true });
        id = await container.commit(image, {
          'vauban.playbook': stage.playbook,
          'vauban.branch': branch,
          'vauban.git-sha1': commit.sha,
          'vauban.hostname': input.hostname,
          'vauban.source': from,
          ...cacheLabels(decision.digest, parts, new Date()),
        });
        input.onLine(`stage ${stage.playbook}: ${image} (${id.slice(7, 19)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        const kept = ctx.options.keepFailed === true && container !== undefined ? await container.keep(`${input.hostname}-${stage.playbook}`).catch(() => undefined) : undefined;
        const look = kept === undefined ? '' : `; its container is kept: docker exec -it ${kept} bash (then docker rm -f ${kept})`;
        throw new VaubanError(`stage ${stage.playbook} (branch ${branch}) failed for ${input.hostname}: ${(error as Error).message}${look}`, { cause: error });
      } finally {
        await container?.close();
      }
      ctx.report.cache.push({ kind: 'image', name: image, action: 'build', reason: decision.reason, id });
    }
    parentRebuilt = decision.action === 'build';
    applied.push({ stage, branch, image });
    ctx.report.images.push(image);
    ctx.registry.publish(image);
    from = image;
  }
  await tagImage(docker, from, input.finalName);
  const last = ctx.report.cache.at(-1);
  if (input.stages.length > 0 && last !== undefined && last.name === from) {
    ctx.report.cache.push({ kind: 'image', name: input.finalName, action: last.action, reason: `tag of ${from}`, id: last.id });
  }
  ctx.registry.publish(input.finalName);
  input.onLine(`tagged ${input.finalName} on ${from}`);
  return applied;
}
