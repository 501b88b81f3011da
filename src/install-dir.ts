// Where vauban is installed (Dockerfile.base, stage.sh, dracut.conf, modules.d/,
// bin/): the folder of its package.json, found from this module's own place:
// dist/src/ once compiled, src/ when the tests run the sources, wherever npm
// put the package. Never the working directory.
import { existsSync } from 'node:fs';
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
