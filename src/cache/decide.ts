// Reuse or build, and why (issue 12): the pure decision for one image or
// artifact, from what was found under its inputs' digest and from the run's
// freshness rules. The reason is what the plan and the recap print.
import type { CachePolicy } from '../model/run-values.js';
import { changedParts, type InputParts } from './inputs.js';

export type { CachePolicy };


/** A build found under the same digest. */
export interface CachedBuild {
  /** Image id, or the artifact's file. */
  id: string;
  built: Date;
}

/** The build that holds the name today (the image tagged so, the artifact's record), to say what changed. */
export interface PreviousBuild {
  parts: InputParts;
  /** The commit of the Ansible repository a stage was built from (its vauban.git-sha1 label). */
  sha?: string;
}

export interface CacheDecision {
  action: 'reuse' | 'build';
  reason: string;
  /** With `reuse`: what is reused. */
  reused?: CachedBuild;
}

export interface DecideInput {
  policy: CachePolicy;
  parts: InputParts;
  found: CachedBuild | undefined;
  previous: PreviousBuild | undefined;
  /** The image this one is made from was built by this run (not reused). */
  parentRebuilt: boolean;
  /** A reason to build that no digest shows (a tampered file...): wins over reuse. */
  invalid?: string;
}

export const DAY_MS = 86_400_000;
/** How far ahead of this machine's clock a build date may be (another machine's clock). */
const CLOCK_SKEW_MS = 10 * 60_000;

/**
 * What the cache makes of a build date (CACHE_MAX_AGE_DAYS): fresh enough to
 * reuse, stale, or ahead of this machine's clock (beyond a little skew),
 * which would keep an image fresh for ever and is not believed (issue 30).
 * `vauban list` says the same.
 */
export function freshnessOf(built: Date, now: Date, maxAgeDays: number): 'fresh' | 'stale' | 'future' {
  if (built.getTime() > now.getTime() + CLOCK_SKEW_MS) return 'future';
  return now.getTime() - built.getTime() >= maxAgeDays * DAY_MS ? 'stale' : 'fresh';
}

export function decideCache(input: DecideInput): CacheDecision {
  const { policy, found } = input;
  if (policy.noCache) return { action: 'build', reason: '--no-cache' };
  if (input.invalid !== undefined) return { action: 'build', reason: input.invalid };
  if (found !== undefined) {
    const freshness = freshnessOf(found.built, policy.now, policy.maxAgeDays);
    if (freshness === 'future') {
      return { action: 'build', reason: `its build date ${found.built.toISOString().slice(0, 16).replace('T', ' ')} UTC is in the future: not believed` };
    }
    if (freshness === 'stale') {
      return { action: 'build', reason: `older than ${policy.maxAgeDays} day${policy.maxAgeDays === 1 ? '' : 's'} (built ${found.built.toISOString().slice(0, 16).replace('T', ' ')} UTC)` };
    }
    return { action: 'reuse', reason: `inputs unchanged (built ${found.built.toISOString().slice(0, 16).replace('T', ' ')} UTC)`, reused: found };
  }
  if (input.parentRebuilt) return { action: 'build', reason: 'parent rebuilt' };
  if (input.previous === undefined) return { action: 'build', reason: 'no image with these inputs' };
  return { action: 'build', reason: describeChange(input.previous.parts, input.parts) };
}

/** "branch master moved 83a49cb → 1f02a7e", "ANSIBLE_EXTRA_ARGS changed", ... */
export function describeChange(before: InputParts, now: InputParts): string {
  const changed = changedParts(before, now);
  if (changed.length === 0) return 'no image with these inputs';
  const short = (value: string | undefined): string => (value === undefined || value === '' ? 'none' : value.replace(/^sha256:/, '').slice(0, 7));
  const reasons = changed.map((key) => {
    if (key === 'commit') return `branch ${now.branch ?? before.branch ?? '?'} moved ${short(before.commit)} → ${short(now.commit)}`;
    if (key === 'parent') return `parent image changed ${short(before.parent)} → ${short(now.parent)}`;
    if (key === 'image') return `image changed ${short(before.image)} → ${short(now.image)}`;
    if (key === 'keys') return 'sshd keys changed';
    if (key === 'name') return `made for ${before.name ?? '?'}, not ${now.name ?? '?'}`;
    if (key === 'tree') return `branch ${now.branch ?? before.branch ?? '?'}: its files changed (not only its inventory)`;
    // A stage's are its master's (hostname); a conffs' its host's.
    if (key === 'vars') return now.hostname !== undefined ? `variables or groups of ${now.hostname} changed (inventory, group_vars, host_vars)` : 'host vars changed';
    if (key === 'inventory') return before.inventory === undefined || now.inventory === undefined ? 'the stages now read other hosts (hostvars, groups...) or no longer do' : 'the inventory changed (the stages read other hosts: hostvars, groups...)';
    if (key === 'source') return `source image changed ${short(before.source)} → ${short(now.source)}`;
    if (key === 'stages') return 'stages or their branches moved';
    if (key === 'branch') return `branch changed ${before.branch ?? 'none'} → ${now.branch ?? 'none'}`;
    return `${key} changed`;
  });
  // The branch's name changed along with its commit: one reason says both.
  return reasons.filter((reason, index) => !((changed[index] === 'commit' || changed[index] === 'tree') && changed.includes('branch'))).join(', ');
}
