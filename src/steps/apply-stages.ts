// apply_stages (A4, B10): one container per stage, created from the previous
// stage's image with systemd as PID 1, stage.sh run in it, then committed as
// <prefix>/<playbook>; the last one is also tagged with the final name.
import { decideImage } from '../cache/decide-image.js';
import { cacheLabels, imageId, previousBuildOf } from '../cache/image-cache.js';
import { stagePartsFrom } from '../cache/parts.js';
import type { Context } from '../context.js';
import { EXIT, VaubanError, throwIfAborted } from '../errors.js';
import { plannedImage, plannedStageImages, type PlannedStageImage } from '../model/plan.js';
import type { Stage } from '../model/stage.js';
import { tagImage } from '../system/docker/images.js';
import { StageContainer } from '../ansible/stage-container.js';
import type { PlayControllers } from '../ansible/play-controller.js';
import { keptListingOf, listInventory } from '../ansible/resolve-hosts.js';
import { carriedReads, stageReads, type StageReads } from '../ansible/stage-reads.js';
import type { Commit } from '../ansible/repository.js';
import type { InputParts } from '../cache/inputs.js';
import { movedForOthersOnly } from '../cache/moved.js';

export interface ApplyStagesInput {
  /** The images to make, in order (the plan's): one per stage, each FROM the one before. */
  images: readonly PlannedStageImage[];
  /** The tag of the last image: the master's name. */
  finalName: string;
  /** Where each line of the builds goes. */
  onLine: (line: string) => void;
  /** The run's Ansible controllers: the inventory a stage's variables are read from is listed by one. */
  controllers: PlayControllers;
}

export interface AppliedStage {
  stage: Stage;
  branch: string;
  image: string;
}

/** The rootfs's stages: the plan's stage images, made as the master's name on the plan's source. */
export async function applyStages(ctx: Context, controllers: PlayControllers): Promise<string | undefined> {
  const { source } = ctx.plan;
  if (!ctx.runs('apply_stages') || source === undefined) return undefined;
  const images = plannedStageImages(ctx.plan);
  const master = plannedImage(ctx.plan, 'master').name;
  await ctx.reporter.step(`apply_stages: ${master} (${images.length} stage(s) on ${source})`, async (status) => {
    await applyStagesAs(ctx, {
      images,
      finalName: master,
      controllers,
      onLine: (line) => {
        status.update(line.slice(0, 60));
        ctx.reporter.line(`  │ ${line}`);
      },
    });
  });
  ctx.report.images.push(master);
  return master;
}

/** Fails before any build when a stage's branch or playbook does not exist. */
export async function checkStages(ctx: Context, stages: readonly Stage[]): Promise<void> {
  for (const stage of stages) await ctx.ansible.assertPlaybook(stage.branch ?? ctx.options.branch, stage.playbook);
}

/** Applies the stages as `hostname`, one container and one commit per stage; returns the images made, in order. */
export async function applyStagesAs(ctx: Context, input: ApplyStagesInput): Promise<AppliedStage[]> {
  const docker = await ctx.docker();
  const source = input.images[0]?.from ?? plannedImage(ctx.plan, 'master').from;
  if (!(await ctx.registry.ensureLocal(source))) {
    throw new VaubanError(`source image ${source} does not exist`, { hint: 'build it first, or check --source-image', exitCode: EXIT.usage });
  }
  const applied: AppliedStage[] = [];
  const settings = ctx.settings.values;
  const script = ctx.installDigest('stageScript');
  let from = source;
  // The source itself is no build of this run: its stages are judged on their own inputs.
  let parentRebuilt = false;
  for (const [index, planned] of input.images.entries()) {
    throwIfAborted(ctx.signal);
    const { branch, hostname, name: image } = planned;
    const stage = stageOf(planned);
    // What the play reads decides (issue 28); the working copy is made only for a build (by applyStage).
    const commit = await ctx.ansible.commit(branch);
    const parent = await imageId(docker, from);
    const partsOf = (reads: StageReads) => stagePartsFrom(settings, { parent, playbook: stage.playbook, branch, ...reads, hostname, script });
    const reads = (await readsOfLastBuild(ctx, { image, source, commit, hostname, partsOf })) ?? (await stageReads(ctx.ansible, commit, hostname, await listInventory(ctx, source, branch, hostname, input.controllers)));
    const parts = partsOf(reads);
    const decision = await decideImage(ctx.imageCache, { name: image, parts, parentRebuilt });
    if (decision.action === 'reuse' && decision.reused !== undefined) {
      await tagImage(docker, decision.reused.id, image);
      const reason = `${decision.reason}${await movedForOthersOnly(docker, decision.reused.id, commit.sha)}`;
      input.onLine(`stage ${index + 1}/${input.images.length}: ${stage.playbook}: reused ${image} (${decision.reused.id.slice(7, 19)}): ${reason}`);
      ctx.report.cache.push({ kind: 'image', name: image, action: 'reuse', reason, id: decision.reused.id });
    } else {
      input.onLine(`stage ${index + 1}/${input.images.length}: ${stage.playbook} from branch ${branch} (${commit.sha.slice(0, 10)}) on ${from} as ${hostname} -> ${image} (build: ${decision.reason})`);
      const started = Date.now();
      let container: StageContainer | undefined;
      let id: string;
      try {
        container = await StageContainer.open(ctx, { image: from, hostname, onLine: input.onLine, committed: true });
        await container.applyStage({ stage, branch, commit, source: from, checkRequirements: true });
        id = await container.commit(image, {
          'vauban.playbook': stage.playbook,
          'vauban.branch': branch,
          'vauban.git-sha1': commit.sha,
          'vauban.hostname': hostname,
          'vauban.source': from,
          ...cacheLabels(decision.digest, parts, new Date()),
        });
        id = await ctx.signBuild(id, image);
        input.onLine(`stage ${stage.playbook}: ${image} (${id.slice(7, 19)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        const kept = ctx.options.keepFailed === true && container !== undefined ? await container.keep(`${hostname}-${stage.playbook}`).catch(() => undefined) : undefined;
        const look = kept === undefined ? '' : `; its container is kept: docker exec -it ${kept} bash (then docker rm -f ${kept})`;
        throw new VaubanError(`stage ${stage.playbook} (branch ${branch}) failed for ${hostname}: ${(error as Error).message}${look}`, { cause: error });
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
  if (input.images.length > 0 && last !== undefined && last.name === from) {
    ctx.report.cache.push({ kind: 'image', name: input.finalName, action: last.action, reason: `tag of ${from}`, id: last.id });
  }
  ctx.registry.publish(input.finalName);
  input.onLine(`tagged ${input.finalName} on ${from}`);
  return applied;
}

/**
 * The reads of the stage's last build (`image` as it is tagged now), when its
 * branch moved by a change of other hosts' inventory only (carriedReads): the
 * inventory is then not listed. Undefined otherwise, said in the debug log.
 */
async function readsOfLastBuild(ctx: Context, input: { image: string; source: string; commit: Commit; hostname: string; partsOf: (reads: StageReads) => InputParts }): Promise<StageReads | undefined> {
  const build = await previousBuildOf(await ctx.docker(), input.image);
  if (build?.sha === undefined || build.sha === input.commit.sha) return undefined;
  const carried = await carriedReads(ctx.ansible, input.commit, input.hostname, { sha: build.sha, parts: build.parts }, {
    partsOf: input.partsOf,
    hookPre: ctx.settings.values.HOOK_PRE_ANSIBLE,
    buildListing: await keptListingOf(ctx, input.source, build.sha, input.hostname),
  });
  if ('why' in carried) {
    ctx.reporter.debug(`  ${input.image}: the inventory is listed (since ${build.sha.slice(0, 10)}: ${carried.why})`);
    return undefined;
  }
  ctx.reporter.debug(`  ${input.image}: the inventory is not listed: since ${build.sha.slice(0, 10)}, it changed for ${carried.hosts.join(', ') || 'no host'} only`);
  return carried.reads;
}

/** The stage a planned image applies (its playbook, on its branch). */
function stageOf(image: PlannedStageImage): Stage {
  return { playbook: image.playbook, branch: image.branch };
}
