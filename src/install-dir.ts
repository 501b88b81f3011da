// Where vauban is installed (Dockerfile.base, stage.sh, dracut.conf, modules.d/,
// bin/): the folder of its package.json, found from this module's own place:
// dist/src/ once compiled, src/ when the tests run the sources, wherever npm
// put the package. Never the working directory.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function installDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`vauban's package.json is in no folder above ${here}`);
  }
}

/** vauban's own files that each step reads from its install folder (the preflight checks they are there). */
export const INSTALL_FILES = {
  baseDockerfile: ['Dockerfile.base'],
  stageScript: ['stage.sh'],
  /** What runs a conffs host's play: stage.sh, the shared controller and the host's agent. */
  conffsTools: ['stage.sh', 'play/controller.py', 'play/agent.py'],
  dracut: ['dracut.conf', 'modules.d'],
} as const;

/** The sha256 of some of vauban's own files, read together: an input of what they build (issue 12). */
export function installDigest(dir: string, files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(path.join(dir, file)));
  return hash.digest('hex');
}
