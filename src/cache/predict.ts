// The dry run's side of the cache (issue 12): per image and artifact of the
// plan, reuse or build and why, computed with the same parts and decisions as
// the run, from what can be read without building: the local images (read
// only), the branches' commits (`git ls-remote`), the artifact records. What
// cannot be known (Docker unreachable, a parent to be rebuilt whose id does
// not exist yet) is said so.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../vauban-config.js';
import { INSTALL_FILES } from '../install-dir.js';
import type { StageReads } from '../ansible/stage-reads.js';
import { movedForOthersOnly } from './moved.js';
import { planRun, plannedArtifact, plannedImage, plannedStageImages } from '../model/plan.js';
import { settleRunValues } from '../model/run-values.js';
import { VAULT_DIR } from '../model/local-layout.js';
import type { VaubanOptions } from '../model/options.js';
import { sha256File } from '../system/sha256-file.js';
import type { DockerClient } from '../system/docker/client.js';
import { vaultFile } from '../model/local-layout.js';
import { readProjectKey } from '../vault/project-key.js';
import { decideArtifact } from './artifact-record.js';
import { baseIdentity, kernelInputs } from './base-identity.js';
import { decideCache, type CachePolicy } from './decide.js';
import { OS_NAME_LABEL, findCachedImage, imageId, previousBuildOf } from './image-cache.js';
import { inputsDigest, installDigest, type InputParts } from './inputs.js';
import { baseImageParts, rootfsParts, stagePartsFrom } from './parts.js';

export interface PredictedEntry {
  kind: 'image' | 'artifact' | 'conffs';
  name: string;
  action: 'reuse' | 'build' | 'unknown';
  reason: string;
}

export interface PredictInput {
  options: VaubanOptions;
  settings: Settings;
  policy: CachePolicy;
  cwd: string;
  installDir: string;
  docker: DockerClient;
  /** The commit a branch of the Ansible repository points to now. */
  branchSha: (branch: string) => Promise<string | undefined>;
  /**
   * What a stage of `branch` played as `hostname` reads (stage-reads.ts), the inventory listed in
   * `source` (the image the stages start from), as the run computes it; a string: why it cannot be known.
   */
  stageReads: (source: string, branch: string, hostname: string) => Promise<StageReads | string>;
}

export interface Prediction {
  entries: PredictedEntry[];
  /** The OS name of the base, read from a reusable raw-iso's label. */
  osName?: string;
  /** The id of <prefix>/iso when the run will reuse it: what its conffs hosts are built on. */
  baseImageId?: string;
}

export async function predictCache(input: PredictInput): Promise<Prediction> {
  const { options, settings, policy, docker } = input;
  const entries: PredictedEntry[] = [];
  // The images are the plan's: named as the run names them, once the OS name is read (from a reusable raw-iso).
  const planOf = (osName: string | undefined) => planRun(options, osName === undefined ? {} : { osName });
  const fromBase = planOf(undefined).images.some((image) => image.role === 'raw-base');
  // The id the next image is built on, when it exists already; undefined: it will be built by this run.
  let parent: string | undefined;
  let osName: string | undefined;
  let baseImageId: string | undefined;
  // Why what follows cannot be known (a source image not local yet, a missing branch).
  let unknown: string | undefined;
  const decide = async (name: string, parts: InputParts, commit?: string): Promise<string | undefined> => {
    const found = policy.noCache ? undefined : await findCachedImage(docker, inputsDigest(parts));
    const previous = found === undefined && !name.includes('<') ? await previousBuildOf(docker, name) : undefined;
    const decision = decideCache({ policy, parts, found, previous, parentRebuilt: false });
    // As the run says it of a stage reused after a commit for other hosts (issue 28).
    const moved = commit !== undefined && decision.reused !== undefined ? await movedForOthersOnly(docker, decision.reused.id, commit) : '';
    entries.push({ kind: 'image', name, action: decision.action, reason: `${decision.reason}${moved}` });
    return decision.action === 'reuse' ? decision.reused?.id : undefined;
  };
  const rebuilt = (name: string): void => {
    if (unknown !== undefined) entries.push({ kind: 'image', name, action: 'unknown', reason: unknown });
    else entries.push({ kind: 'image', name, action: 'build', reason: policy.noCache ? '--no-cache' : 'parent rebuilt' });
  };

  if (fromBase) {
    const { parts, origin } = baseIdentity(options, settings, input.cwd);
    const found = policy.noCache ? undefined : await findCachedImage(docker, inputsDigest(parts));
    const decision = decideCache({ policy, parts, found, previous: undefined, parentRebuilt: false });
    if (decision.action === 'reuse' && decision.reused !== undefined) {
      osName = (await docker.getImage(decision.reused.id).inspect()).Config.Labels?.[OS_NAME_LABEL];
      parent = decision.reused.id;
    }
    const plan = planOf(osName);
    entries.push({ kind: 'image', name: plannedImage(plan, 'raw-base').name, action: decision.action, reason: decision.reason });
    const base = plannedImage(plan, 'base').name;
    if (parent !== undefined) {
      const dockerfile = installDigest(input.installDir, INSTALL_FILES.baseDockerfile);
      const ansiblePackages = settings.ANSIBLE_PACKAGES?.trim() || 'ansible';
      parent = await decide(base, baseImageParts({ parent, dockerfile, origin, ansiblePackages }));
      baseImageId = parent;
    } else {
      rebuilt(base);
    }
  } else if (options.rootfs && options.sourceImage !== undefined) {
    parent = await imageId(docker, options.sourceImage).catch(() => undefined);
    if (parent === undefined) unknown = `source image ${options.sourceImage} is not local (looked up at run time)`;
  }
  if (options.initramfs) {
    const parts = kernelInputs(options, settings, input.cwd, input.installDir, (await readProjectKey(path.join(input.cwd, VAULT_DIR)))?.fingerprint);
    for (const artifact of [plannedArtifact(planOf(osName), 'vmlinuz'), plannedArtifact(planOf(osName), 'initramfs')]) {
      const decision = await decideArtifact(path.join(input.cwd, artifact.file), parts, policy, path.join(input.cwd, artifact.kept), true);
      entries.push({ kind: 'artifact', name: artifact.file, action: decision.action, reason: decision.reason });
    }
  }
  if (!options.rootfs) return { entries, osName, baseImageId };

  const plan = planOf(osName);
  const script = installDigest(input.installDir, INSTALL_FILES.stageScript);
  const source = parent;
  for (const { name, branch, playbook, hostname } of plannedStageImages(plan)) {
    const commit = parent === undefined ? undefined : await input.branchSha(branch);
    if (parent !== undefined && commit === undefined) unknown = `branch ${branch} not found`;
    const reads = parent === undefined || commit === undefined || source === undefined ? undefined : await input.stageReads(source, branch, hostname);
    if (typeof reads === 'string') unknown = reads;
    if (parent === undefined || commit === undefined || reads === undefined || typeof reads === 'string') {
      rebuilt(name);
      parent = undefined;
      continue;
    }
    parent = await decide(name, stagePartsFrom(settings, { parent, playbook, branch, ...reads, hostname, script }), commit);
  }
  const last = entries.at(-1);
  if (options.stages.length > 0 && last !== undefined) entries.push({ kind: 'image', name: plannedImage(plan, 'master').name, action: last.action, reason: `tag of ${last.name}` });

  const rootfs = plannedArtifact(plan, 'rootfs');
  const tarball = path.join(input.cwd, rootfs.file);
  if (unknown !== undefined) {
    entries.push({ kind: 'artifact', name: rootfs.file, action: 'unknown', reason: unknown });
  } else if (parent === undefined) {
    entries.push({ kind: 'artifact', name: rootfs.file, action: 'build', reason: policy.noCache ? '--no-cache' : 'image rebuilt' });
  } else {
    const entry = vaultFile(path.join(input.cwd, VAULT_DIR), options.name);
    const keys = existsSync(entry) ? await sha256File(entry) : '';
    const { compression } = settleRunValues(options, settings);
    const decision = await decideArtifact(tarball, rootfsParts({ name: options.name, image: parent, compression, keys }), policy, path.join(input.cwd, rootfs.kept), true);
    entries.push({ kind: 'artifact', name: rootfs.file, action: decision.action, reason: decision.reason });
  }
  return { entries, osName, baseImageId };
}

