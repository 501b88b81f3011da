// Overlay whiteouts: how a layer records that a stage deleted a file (a
// character device 0/0 in place of the file). A tar cannot carry them, so a
// conffs cannot delete a file of its master: vauban reports them instead (A6).
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Paths (relative, like etc/issue.net) deleted in any of the layer folders. */
export function findWhiteouts(layers: readonly string[]): string[] {
  const found = new Set<string>();
  for (const layer of layers) {
    for (const entry of readdirSync(layer, { recursive: true, withFileTypes: true })) {
      if (!entry.isCharacterDevice()) continue;
      const full = path.join(entry.parentPath, entry.name);
      if (lstatSync(full).rdev === 0) found.add(path.relative(layer, full));
    }
  }
  return [...found].sort();
}
