// Whether a program is installed, looked up as run() will find it: on the
// PATH it gives its programs (childEnv: the sbin folders included). For the
// problems a dry run lists; no program is run.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { withSbin } from './run.js';

export function isInstalled(name: string, pathVariable: string | undefined): boolean {
  return withSbin(pathVariable ?? '')
    .split(':')
    .filter((folder) => folder !== '')
    .some((folder) => {
      const file = path.join(folder, name);
      try {
        accessSync(file, constants.X_OK);
        return statSync(file).isFile();
      } catch {
        return false;
      }
    });
}
