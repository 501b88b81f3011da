// apply_stages (A4): one Dockerfile.stages build per stage, each FROM the
// previous one, tagged <prefix>/<playbook> (or <prefix>/<host>/<playbook> for
// a conffs host), the last one also tagged with the final name.
import path from 'node:path';
import type { Context } from '../context.js';
import { VaubanError, throwIfAborted } from '../errors.js';
import { stageImageName } from '../image-name.js';
import type { Stage } from '../stage.js';
import { buildImage, tagImage } from '../system/docker/images.js';
import { createBuildContext } from './build-context.js';

export interface ApplyStagesInput {
  source: string;
  prefix: string;
  stages: readonly Stage[];
  /** The name ansible plays as: the master's name, or a conffs host. */
  hostname: string;
  /** The tag of the last image. */
  finalName: string;
  /** For a conffs host: stage images are <prefix>/<host>/<playbook>. */
  host?: string;
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

/** Applies the stages as `hostname`; returns the images made, in order. */
export async function applyStagesAs(ctx: Context, input: ApplyStagesInput): Promise<AppliedStage[]> {
  const docker = await ctx.docker();
  if (!(await ctx.registry.ensureLocal(input.source))) {
    throw new VaubanError(`source image ${input.source} does not exist`, { hint: 'build it first, or check --source-image' });
  }
  const settings = ctx.settings.values;
  const applied: AppliedStage[] = [];
  let from = input.source;
  for (const [index, stage] of input.stages.entries()) {
    throwIfAborted(ctx.signal);
    const branch = stage.branch ?? ctx.options.branch;
    const image = stageImageName(input.prefix, stage.playbook, input.host);
    const checkout = await ctx.ansible.checkout(branch);
    input.onLine(`stage ${index + 1}/${input.stages.length}: ${stage.playbook} from branch ${branch} (${checkout.sha.slice(0, 10)}) on ${from} as ${input.hostname} -> ${image}`);
    const context = await createBuildContext({
      dockerfile: path.join(ctx.installDir, 'Dockerfile.stages'),
      ansibleParent: checkout.parent,
      scratch: path.join(ctx.workDir, 'contexts', `${input.hostname}-${index}`),
      files: { hostname: `${input.hostname}\n` },
      signal: ctx.signal,
    });
    try {
      await Promise.all([
        buildImage(docker, {
          context: context.stream,
          dockerfile: 'Dockerfile.stages',
          tag: image,
          buildArgs: {
            SOURCE: from,
            PLAYBOOK: stage.playbook,
            HOSTNAME: input.hostname,
            BRANCH: branch,
            HOOK_PRE_ANSIBLE: settings.HOOK_PRE_ANSIBLE ?? '',
            HOOK_POST_ANSIBLE: settings.HOOK_POST_ANSIBLE ?? '',
            ANSIBLE_ROOT_DIR: settings.ANSIBLE_ROOT_DIR ?? '',
            ANSIBLE_EXTRA_ARGS: settings.ANSIBLE_EXTRA_ARGS ?? '',
          },
          onLine: input.onLine,
          signal: ctx.signal,
        }),
        context.done,
      ]);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw new VaubanError(`stage ${stage.playbook} (branch ${branch}) failed for ${input.hostname}: ${(error as Error).message}`, { cause: error });
    }
    applied.push({ stage, branch, image });
    ctx.registry.publish(image);
    from = image;
  }
  await tagImage(docker, from, input.finalName);
  ctx.registry.publish(input.finalName);
  input.onLine(`tagged ${input.finalName} on ${from}`);
  return applied;
}
