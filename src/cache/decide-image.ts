// Reuse or build one image (issue 12): its inputs' digest looked up among the
// local images, then in the registry (the name's :latest), then the run's
// policy (--no-cache, CACHE_MAX_AGE_DAYS).
import type { Registry } from '../registry.js';
import type { DockerClient } from '../system/docker/client.js';
import { decideCache, type CacheDecision, type CachePolicy } from './decide.js';
import { findCachedImage, previousBuildOf } from './image-cache.js';
import { inputsDigest, type InputParts } from './inputs.js';

export interface ImageDecision extends CacheDecision {
  digest: string;
}

/** What deciding needs: the engine, the run's cache policy, the registry's earlier builds, a debug line. */
export interface ImageCacheAccess {
  docker: () => Promise<DockerClient>;
  cachePolicy: CachePolicy;
  registry: Pick<Registry, 'pullBuildOf'>;
  debug: (line: string) => void;
}

export async function decideImage(access: ImageCacheAccess, input: { name: string; parts: InputParts; parentRebuilt: boolean; /** Whether an image holds `name` today, to say what changed. */ named?: boolean }): Promise<ImageDecision> {
  const docker = await access.docker();
  const digest = inputsDigest(input.parts);
  const policy = access.cachePolicy;
  let found = policy.noCache ? undefined : await findCachedImage(docker, digest);
  // Not here: a build of these inputs pushed by an earlier run (another machine's, a fresh CI runner's).
  const pulled = found === undefined && !policy.noCache && input.named !== false && (await access.registry.pullBuildOf(input.name, digest)) !== undefined;
  if (pulled) found = await findCachedImage(docker, digest);
  const previous = found === undefined && input.named !== false ? await previousBuildOf(docker, input.name) : undefined;
  const decision = decideCache({ policy, parts: input.parts, found, previous, parentRebuilt: input.parentRebuilt });
  access.debug(`cache: ${input.name} ${digest}: ${decision.action} (${decision.reason})`);
  return { ...decision, reason: pulled && decision.action === 'reuse' ? `${decision.reason}, pulled from the registry` : decision.reason, digest };
}
