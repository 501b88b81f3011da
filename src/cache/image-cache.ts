// The images side of the cache (issue 12): every image vauban builds carries
// the digest of its inputs (label vauban.inputs), the inputs themselves
// (vauban.inputs.parts, secret-free) and its build time (vauban.built). Before
// a build, a local image with the same digest is looked up and, when fresh
// enough, tagged with the name instead of built.
import type { DockerClient } from '../system/docker/client.js';
import type { CachedBuild, PreviousBuild } from './decide.js';
import type { InputParts } from './inputs.js';
import { SIGNATURE_LABEL } from './vouch.js';

export const INPUTS_LABEL = 'vauban.inputs';
export const PARTS_LABEL = 'vauban.inputs.parts';
export const BUILT_LABEL = 'vauban.built';
/** The OS name of a raw-iso (the images' prefix), so that a reused one needs no mount to be named. */
export const OS_NAME_LABEL = 'vauban.os-name';

/** The labels an image built from `parts` (digest `digest`) carries. */
export function cacheLabels(digest: string, parts: InputParts, built: Date): Record<string, string> {
  return { [INPUTS_LABEL]: digest, [PARTS_LABEL]: JSON.stringify(parts), [BUILT_LABEL]: built.toISOString() };
}

/**
 * The newest local image carrying `digest` (tagged or not: an image whose
 * tag moved on is still a build of these inputs until it is pruned).
 */
export async function findCachedImage(docker: DockerClient, digest: string): Promise<CachedBuild | undefined> {
  const images = await docker.listImages({ filters: { label: [`${INPUTS_LABEL}=${digest}`] } });
  let best: CachedBuild | undefined;
  let bestSigned = false;
  for (const image of images) {
    const built = builtOf(image.Labels ?? {}, image.Created);
    // Of one build, its signed image (issue 30: what another run may reuse) rather than what it was signed on.
    const signed = (image.Labels ?? {})[SIGNATURE_LABEL] !== undefined;
    if (best === undefined || built > best.built || (built.getTime() === best.built.getTime() && signed && !bestSigned)) {
      best = { id: image.Id, built };
      bestSigned = signed;
    }
  }
  return best;
}

/** The inputs of the image that holds `name` today, when vauban built it. */
export async function previousBuildOf(docker: DockerClient, name: string): Promise<PreviousBuild | undefined> {
  try {
    const labels = (await docker.getImage(name).inspect()).Config.Labels ?? {};
    const parts = labels[PARTS_LABEL];
    if (parts === undefined) return undefined;
    const sha = labels['vauban.git-sha1'];
    return { parts: JSON.parse(parts) as InputParts, ...(sha === undefined ? {} : { sha }) };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    // A label that does not parse is an image we cannot explain, not a failure.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** The id of a local image. */
export async function imageId(docker: DockerClient, reference: string): Promise<string> {
  return (await docker.getImage(reference).inspect()).Id;
}

/** An image's build date: its vauban.built label, else the engine's creation time. */
export function builtOf(labels: Record<string, string>, created: number): Date {
  const label = labels[BUILT_LABEL];
  const parsed = label === undefined ? Number.NaN : Date.parse(label);
  return Number.isNaN(parsed) ? new Date(created * 1000) : new Date(parsed);
}
