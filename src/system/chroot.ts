// Commands inside a chroot of the base, with /proc, /sys and /dev mounted and
// working DNS, as bootstrap_fs and chroot_dracut need (A8).
import { copyFileSync, existsSync, lstatSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from './cleanup.js';
import { mount } from './mount.js';
import { run, type RunOptions, type RunResult } from './run.js';

// No interactive prompt, no initramfs built by kernel package hooks (the
// initramfs is dracut's job, later), a PATH that finds sbin tools.
const CHROOT_ENV = {
  DEBIAN_FRONTEND: 'noninteractive',
  INITRD: 'No',
  LC_ALL: 'C',
  LANG: 'C',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};

/** Mounts /proc, /sys and /dev into `root` and gives it the host's DNS; returns a release for all of it. */
export async function prepareChroot(root: string, cleanup: CleanupStack, runOptions: RunOptions = {}): Promise<() => Promise<void>> {
  const releases: Array<() => Promise<void>> = [];
  releases.push(await mount({ source: 'proc', target: path.join(root, 'proc'), type: 'proc' }, cleanup, runOptions));
  for (const dir of ['sys', 'dev']) {
    // rslave: unmounting inside the chroot never propagates to the host.
    releases.push(await mount({ source: `/${dir}`, target: path.join(root, dir), flags: ['--rbind', '--make-rslave'] }, cleanup, runOptions));
  }
  // Registered after the mounts, so released before them: nothing started in
  // the chroot (an interrupted apt-get's dpkg, say) may still hold them.
  releases.push(cleanup.push(`processes in ${root}`, async () => killChrootProcesses(root)));
  const resolv = path.join(root, 'etc/resolv.conf');
  if (existsSync(resolv) || isSymlink(resolv)) rmSync(resolv, { force: true });
  copyFileSync('/etc/resolv.conf', resolv);
  return async () => {
    for (const release of releases.reverse()) await release();
  };
}

/** Kills what still runs inside the chroot (its /proc/<pid>/root is `root`). */
export async function killChrootProcesses(root: string): Promise<void> {
  const { readdirSync, readlinkSync } = await import('node:fs');
  for (let round = 0; round < 2; round++) {
    const inside = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          const processRoot = readlinkSync(`/proc/${pid}/root`);
          return processRoot === root || processRoot.startsWith(`${root}/`);
        } catch {
          return false;
        }
      })
      .map(Number);
    if (inside.length === 0) return;
    for (const pid of inside) {
      try {
        process.kill(pid, round === 0 ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Runs a command inside the chroot. */
export function runInChroot(root: string, command: string, args: readonly string[], runOptions: RunOptions = {}): Promise<RunResult> {
  return run('chroot', [root, command, ...args], { ...runOptions, env: { ...CHROOT_ENV, ...runOptions.env } });
}
