// The values a run derives from its options and settings, settled once for
// the run, its dry run and its --json: a flag wins over its setting, which
// wins over vauban's default.
import type { Settings } from '../../vauban-config.js';
import type { Compression, VaubanOptions } from './options.js';

export interface CachePolicy {
  /** --no-cache (or config.yml's no_cache): build everything. */
  noCache: boolean;
  /** CACHE_MAX_AGE_DAYS: a build older than this is made again (0: always). */
  maxAgeDays: number;
  now: Date;
}

export interface RunValues {
  /** --compression, else SQUASHFS_COMPRESSION, else xz. */
  compression: Compression;
  /** -j, else CONFFS_PARALLEL, else 20. */
  conffsParallel: number;
  /** --no-cache. */
  noCache: boolean;
  /** CACHE_MAX_AGE_DAYS, else 7. */
  cacheMaxAgeDays: number;
}

export function settleRunValues(options: Pick<VaubanOptions, 'compression' | 'conffsParallel' | 'noCache'>, settings: Settings): RunValues {
  return {
    compression: options.compression ?? settings.SQUASHFS_COMPRESSION ?? 'xz',
    conffsParallel: options.conffsParallel ?? Number(settings.CONFFS_PARALLEL ?? '20'),
    noCache: options.noCache,
    cacheMaxAgeDays: Number(settings.CACHE_MAX_AGE_DAYS ?? '7'),
  };
}

/** When an image or artifact with unchanged inputs is reused (issue 12), judged at `now`. */
export function cachePolicyOf(values: RunValues, now: Date): CachePolicy {
  return { noCache: values.noCache, maxAgeDays: values.cacheMaxAgeDays, now };
}
