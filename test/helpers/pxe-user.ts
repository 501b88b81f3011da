// A non-root user with passwordless sudo, for the PXE server stand-in: the
// upload must detect that it cannot write UPLOAD_DIR and go through sudo.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sh } from './sh.js';

export interface PxeUser {
  name: string;
  remove: () => Promise<void>;
}

export async function createPxeUser(name: string): Promise<PxeUser> {
  // A run that crashed may have left it: start from a clean user.
  if (await sh('id', ['-u', name]).then(() => true, () => false)) await sh('userdel', ['--remove', name]).catch(() => undefined);
  await sh('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  // Not locked (sshd refuses locked accounts without PAM), yet no password.
  await sh('usermod', ['-p', '*', name]);
  const sudoers = `/etc/sudoers.d/${name}`;
  writeFileSync(sudoers, `${name} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  return {
    name,
    remove: async () => {
      rmSync(sudoers, { force: true });
      await sh('pkill', ['-u', name]).catch(() => undefined);
      if (existsSync(`/home/${name}`)) await sh('userdel', ['--remove', name]).catch(() => undefined);
      else await sh('userdel', [name]).catch(() => undefined);
    },
  };
}

/**
 * Cuts an upload mid-release: kills every process of `user` (its ssh session)
 * as soon as a release's rootfs.tgz is being written in a `.partial-*` folder
 * of `releases`. True once it has cut; false when no such file appeared within
 * `timeoutMs`.
 */
export async function killWhenRootfsIsSent(releases: string, user: string, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
    const partial = readdirSync(releases).find((name) => name.startsWith('.partial-'));
    if (partial !== undefined && existsSync(path.join(releases, partial, 'rootfs.tgz'))) {
      await sh('pkill', ['-KILL', '-u', user]).catch(() => undefined);
      return true;
    }
  }
  return false;
}
