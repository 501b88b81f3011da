// The run's private work folder, removed at the end; never while something
// is still mounted below it (a failed unmount must not turn `rm -rf` into
// the deletion of a mounted file system).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from './cleanup.js';
import { mountsUnder } from './mount.js';

export function createWorkDir(parent: string, cleanup: CleanupStack): string {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(path.join(parent, 'vauban-'));
  cleanup.push(`work folder ${dir}`, () => removeTree(dir));
  return dir;
}

/** Removes a folder of ours, refusing when a mount is still below it. */
export async function removeTree(dir: string): Promise<void> {
  const mounted = await mountsUnder(dir);
  if (mounted.length > 0) throw new Error(`not removing ${dir}: still mounted below it: ${mounted.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}
