// The run's private work folder, removed at the end; never while something
// is still mounted below it (a failed unmount must not turn `rm -rf` into
// the deletion of a mounted file system).
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from './cleanup.js';
import { mountsUnder } from './mount.js';

export function createWorkDir(parent: string, cleanup: CleanupStack): string {
  mkdirSync(parent, { recursive: true });
  // By its resolved path: /proc/self/mountinfo names mount points that way,
  // and every mount target below is then the path the kernel reports.
  const dir = mkdtempSync(path.join(realpathSync(parent), 'vauban-'));
  cleanup.push(`work folder ${dir}`, () => removeTree(dir));
  return dir;
}

/** A short id of the run that made `workDir` (its random part), for names of containers and temporary files. */
export function runIdOf(workDir: string): string {
  return path.basename(workDir).replace(/^vauban-/, '').toLowerCase();
}

/** Removes a folder of ours, refusing when a mount is still below it. */
export async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  // A link in the path (VAUBAN_WORK_DIR=/scratch -> /data/tmp) must not hide what is mounted below.
  const mounted = await mountsUnder(realpathSync(dir));
  if (mounted.length > 0) throw new Error(`not removing ${dir}: still mounted below it: ${mounted.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}
