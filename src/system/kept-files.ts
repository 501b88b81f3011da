// Files a project keeps between runs to spare work (conffs baselines, inventory
// listings): each written whole (a temporary, then one rename), the folder
// held to its most recently used files.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes `data` to `file` whole, then removes the least recently used files
 * ending in `suffix` beyond `keep`. `private`: the file 0600, a folder made 0700.
 */
export function keepFile(file: string, data: string | Buffer, options: { keep: number; suffix: string; private?: boolean }): void {
  const folder = path.dirname(file);
  mkdirSync(folder, options.private === true ? { recursive: true, mode: 0o700 } : { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, data, options.private === true ? { mode: 0o600 } : {});
  renameSync(temporary, file);
  const kept = readdirSync(folder)
    .filter((name) => name.endsWith(options.suffix))
    .map((name) => ({ name, used: statSync(path.join(folder, name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const old of kept.slice(options.keep)) rmSync(path.join(folder, old.name), { force: true });
}

/** Marks a kept file as used now: the last to be removed. */
export function markUsed(file: string): void {
  const now = new Date();
  utimesSync(file, now, now);
}
