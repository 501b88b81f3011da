// The tree a conffs host's container starts from (its baseline, see
// tree-diff.ts) depends only on the source image and on how vauban boots and
// lists a container of it: kept between runs in the output folder, under a
// key of both, the runs that rebuild conffs on the same master (most of them)
// skip the container that takes it (1.4 CPU-s of the first seconds of a run,
// measured). A file that does not read back whole is taken anew.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzipSync } from 'node:zlib';
import { keepFile, markUsed } from '../system/kept-files.js';
import { baselineOf, type Baseline } from './tree-diff.js';

/** How many kept baselines a project holds (the most recently used): one per master in use, a few masters. */
const KEPT = 8;
const HEADER = 'vauban-baseline 1\n';

/** The kept baseline's file of `imageId` taken by `recipe` (the boot and the listing), in `folder`. */
export function keptBaselineFile(folder: string, imageId: string, recipe: string): string {
  const key = createHash('sha256').update(imageId).update('\0').update(recipe).digest('hex').slice(0, 32);
  return path.join(folder, `${key}.gz`);
}

/**
 * The kept baseline, or undefined (none, or not whole). Read and unpacked off
 * the main thread: the preflight reads it while it starts the hosts' controller.
 */
export async function readKeptBaseline(file: string): Promise<Baseline | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    const text = (await promisify(gunzip)(await readFile(file))).toString('utf8');
    if (!text.startsWith(HEADER) || !text.endsWith('\0\n')) return undefined;
    const listing = text.slice(HEADER.length, -2);
    const paths = listing === '' ? [] : listing.split('\0');
    // Used now: the last to be pruned.
    markUsed(file);
    return baselineOf(paths);
  } catch {
    return undefined;
  }
}

/** Keeps `baseline` in `file` (written whole, then renamed), and prunes the least recently used beyond KEPT. */
export function keepBaseline(file: string, baseline: Baseline): void {
  keepFile(file, gzipSync(`${HEADER}${[...baseline.paths].join('\0')}\0\n`, { level: 1 }), { keep: KEPT, suffix: '.gz' });
}
