// Whether a program is installed: looked up as a root shell would find it
// (PATH, then the sbin folders a user's PATH may lack: losetup, sfdisk and
// debootstrap live there). For the problems a dry run lists; no program is run.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function isInstalled(name: string, pathVariable: string | undefined): boolean {
  const folders = [...(pathVariable ?? '').split(':').filter((folder) => folder !== ''), ...SBIN];
  return folders.some((folder) => {
    const file = path.join(folder, name);
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}
