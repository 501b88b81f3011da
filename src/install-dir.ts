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
