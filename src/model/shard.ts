// A share of the conffs hosts (issue 29): `--shard I/N` builds the hosts
// whose name falls in share I of N. A host's share depends on its name and N
// only (a stable hash), so adding or removing a host moves no other host;
// the N shares of a fleet are disjoint and cover it. GitLab's `parallel: N`
// (CI_NODE_INDEX, CI_NODE_TOTAL), a Kubernetes Indexed Job or any runner of N
// indexed copies of one job gives each copy its I.
import { VaubanError } from '../errors.js';

export interface Shard {
  /** 1 to total. */
  index: number;
  total: number;
}

/** The most shares a fleet is cut into. */
export const MAX_SHARDS = 1000;

/** Parses `I/N` (1 ≤ I ≤ N ≤ 1000); throws a clear error otherwise. */
export function parseShard(text: string): Shard {
  const match = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const total = Number(match?.[2]);
  if (match === null || index > total || total > MAX_SHARDS) {
    throw new VaubanError(`--shard '${text}': expected I/N, the share I of N (1 <= I <= N <= ${MAX_SHARDS}), e.g. 2/4`);
  }
  return { index, total };
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.total}`;
}

/**
 * The share (1 to `total`) of the host named `host`, from its name alone:
 * FNV-1a over its UTF-8 bytes, then MurmurHash3's finalizer so that names
 * differing in their last character spread over every share. (No node:crypto:
 * this module is loaded by `vauban -h`.) Never change it: shares would move.
 */
export function shardOf(host: string, total: number): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(host)) hash = Math.imul(hash ^ byte, 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return ((hash >>> 0) % total) + 1;
}

/** The hosts of `hosts` in `shard`, in their order. */
export function hostsOfShard(hosts: readonly string[], shard: Shard): string[] {
  return hosts.filter((host) => shardOf(host, shard.total) === shard.index);
}
