// The images vauban made on this engine (issue 31: `vauban list`, `vauban
// clean`): every image carrying the cache's inputs label, with its names, its
// build date, whether the cache would reuse it, whether the project signed
// it, and whether a master still stands on it.
import type { ImageInfo } from 'dockerode';
import { freshnessOf } from '../cache/decide.js';
import { INPUTS_LABEL, builtOf } from '../cache/image-cache.js';
import { SIGNATURE_LABEL } from '../cache/vouch.js';
import type { DockerClient } from '../system/docker/client.js';

export interface HeldImage {
  id: string;
  /** Its names (repository:tag), none when a newer build took them. */
  tags: string[];
  built: Date;
  sizeBytes: number;
  signed: boolean;
  /** The names of the masters whose image is this one or is built on it (config.yml's, or every named image without one). */
  usedBy: string[];
}

/** What the cache would do with it today (CACHE_MAX_AGE_DAYS), said as the recap says it. */
export type ReuseState = 'reusable' | 'stale' | 'future';

export function reuseStateOf(image: Pick<HeldImage, 'built'>, now: Date, maxAgeDays: number): ReuseState {
  const freshness = freshnessOf(image.built, now, maxAgeDays);
  return freshness === 'fresh' ? 'reusable' : freshness;
}

/**
 * The images vauban made, and which master each one serves: a master's
 * image and every image under it (its stages, its base, the unsigned build
 * its signature was added to) are used by that master. `masters` lists the
 * masters of config.yml; undefined (no config.yml): every image that holds a
 * name counts as a master.
 */
export async function readHeldImages(docker: DockerClient, masters: readonly string[] | undefined): Promise<HeldImage[]> {
  // Every image, intermediate ones too: the parent links are what tie a stage to its master. Listed: the images
  // that hold a name, or held one (a build's steps and the unsigned image under a signed one are not: they go
  // with the image on top of them).
  const all = await docker.listImages({ all: true });
  const byId = new Map(all.map((image) => [image.Id, image]));
  const top = new Set((await docker.listImages()).map((image) => image.Id));
  const ours = all.filter((image) => image.Labels?.[INPUTS_LABEL] !== undefined && top.has(image.Id));
  const usedBy = new Map<string, Set<string>>();
  for (const image of all) {
    for (const master of mastersNamedBy(image, masters)) {
      for (let at: ImageInfo | undefined = image; at !== undefined; at = at.ParentId === '' ? undefined : byId.get(at.ParentId)) {
        const users = usedBy.get(at.Id) ?? new Set<string>();
        users.add(master);
        usedBy.set(at.Id, users);
      }
    }
  }
  return ours
    .map((image) => ({
      id: image.Id,
      tags: namesOf(image),
      built: builtOf(image.Labels ?? {}, image.Created),
      sizeBytes: image.Size,
      signed: image.Labels?.[SIGNATURE_LABEL] !== undefined,
      usedBy: [...(usedBy.get(image.Id) ?? [])].sort(),
    }))
    .sort((a, b) => b.built.getTime() - a.built.getTime() || a.id.localeCompare(b.id));
}

/** The masters an image is the image of: a name of config.yml's (any tag), or, without config.yml, its own names. */
function mastersNamedBy(image: ImageInfo, masters: readonly string[] | undefined): string[] {
  const names = namesOf(image);
  if (masters === undefined) return image.Labels?.[INPUTS_LABEL] === undefined ? [] : names.map((name) => name.replace(/:latest$/, ''));
  return masters.filter((master) => names.some((name) => name === master || name === `${master}:latest`));
}

function namesOf(image: ImageInfo): string[] {
  return (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>').sort();
}
