// Each run keeps its conffs folders as <ISO 8601>-overlayfs-<host> (A12), so
// that they are never uploaded twice; they hold the hosts' private sshd keys.
// Past CONFFS_KEEP folders per host, the oldest are removed.
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseKeptConffsFolder } from '../model/local-layout.js';

/** Removes all but the `keep` newest <time>-overlayfs-<host> folders of each host; returns what it removed. */
export function pruneConffsFolders(dir: string, keep: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const byHost = new Map<string, string[]>();
  for (const name of names) {
    const host = parseKeptConffsFolder(name)?.host;
    if (host === undefined) continue;
    byHost.set(host, [...(byHost.get(host) ?? []), name]);
  }
  const removed: string[] = [];
  for (const folders of byHost.values()) {
    // ISO 8601 UTC times sort as text.
    for (const name of folders.sort().reverse().slice(keep)) {
      const full = path.join(dir, name);
      // A link is removed, never followed.
      if (lstatSync(full).isSymbolicLink()) rmSync(full);
      else rmSync(full, { recursive: true, force: true });
      removed.push(full);
    }
  }
  return removed;
}
