// The inventory a stage reads (stage-reads.ts), as Ansible listed it, kept
// between runs in the output folder under a key of what makes the listing:
// the image (its Ansible), the branch's commit, the hostname added, and the
// settings that reach Ansible's configuration. An unchanged rebuild then
// starts no Ansible to learn what it learned last time (measured: 2 s an
// invocation). A dynamic inventory (a script, a plugin) is listed again with
// each commit only: as a stage's inputs were before issue 28, its commit.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { keepFile, markUsed } from '../system/kept-files.js';

/** How many listings a project keeps (the most recently used): a few per master and branch. */
const KEPT = 32;

export interface InventoryKey {
  imageId: string;
  commit: string;
  hostname: string | undefined;
  /** ANSIBLE_ROOT_DIR and HOOK_PRE_ANSIBLE (which may export ANSIBLE_* settings), as they are. */
  settings: readonly string[];
}

/** The kept listing's file for `key`, in `folder`. */
export function keptInventoryFile(folder: string, key: InventoryKey): string {
  const digest = createHash('sha256').update(JSON.stringify([key.imageId, key.commit, key.hostname ?? null, ...key.settings])).digest('hex').slice(0, 32);
  return path.join(folder, `${digest}.json`);
}

/** The kept listing, or undefined (none, or not JSON); `used` marks it as the most recently used (not in a dry run). */
export function readKeptInventory(file: string, used = true): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const text = readFileSync(file, 'utf8');
    JSON.parse(text);
    if (used) markUsed(file);
    return text;
  } catch {
    return undefined;
  }
}

/** Keeps `listing` in `file` (written whole, then renamed, private), and prunes the least recently used beyond KEPT. */
export function keepInventory(file: string, listing: string): void {
  keepFile(file, listing, { keep: KEPT, suffix: '.json', private: true });
}
