// What `vauban clean` removes, and why (issue 31): pure, from what `vauban
// list` reads. Images vauban made that no master stands on any more (a build
// a newer one superseded, a master gone from config.yml), the kept artifacts
// of masters gone from config.yml; with --older-than, anything built or
// written longer ago than that (the next run builds it again); with
// --mirror, the Ansible mirror (the next run fetches it whole).
import { DAY_MS } from '../cache/decide.js';
import type { HeldImage } from './held-images.js';
import type { KeptHolding } from './kept-holdings.js';

export interface CleanPolicy {
  /** The masters of config.yml; undefined without one (then only superseded builds go). */
  masters: readonly string[] | undefined;
  olderThanDays: number | undefined;
  mirror: boolean;
  now: Date;
}

export type CleanItem =
  | { kind: 'image'; id: string; tags: string[]; sizeBytes: number; why: string }
  | { kind: 'kept'; path: string; sizeBytes: number; why: string };


export function planClean(images: readonly HeldImage[], kept: readonly KeptHolding[], policy: CleanPolicy): CleanItem[] {
  const items: CleanItem[] = [];
  const older = (date: Date) => policy.olderThanDays !== undefined && policy.now.getTime() - date.getTime() > policy.olderThanDays * DAY_MS;
  const age = `older than ${policy.olderThanDays ?? 0} day${policy.olderThanDays === 1 ? '' : 's'}`;
  for (const image of images) {
    let why: string | undefined;
    if (image.usedBy.length === 0) {
      why = image.tags.length === 0 ? 'superseded: a newer build holds its names' : policy.masters === undefined ? 'no master is built on it' : 'no master of config.yml is built on it';
    } else if (older(image.built)) {
      why = `${age} (used by ${image.usedBy.join(', ')}: its next run builds it again)`;
    }
    if (why !== undefined) items.push({ kind: 'image', id: image.id, tags: image.tags, sizeBytes: image.sizeBytes, why });
  }
  for (const holding of kept) {
    let why: string | undefined;
    if (holding.kind === 'mirror') why = policy.mirror ? '--mirror (the next run fetches the Ansible repository whole)' : undefined;
    else if (holding.kind === 'artifacts' && policy.masters !== undefined && !policy.masters.includes(holding.master ?? '')) why = 'not a master of config.yml';
    else if (older(holding.modified)) why = age;
    if (why !== undefined) items.push({ kind: 'kept', path: holding.path, sizeBytes: holding.sizeBytes, why });
  }
  return items;
}
