// Commands inside a chroot of the base, with /proc, /sys and /dev mounted and
// working DNS, as bootstrap_fs and chroot_dracut need (A8).
import { lstatSync, readFileSync } from 'node:fs';
import { VaubanError } from '../errors.js';
import type { CleanupStack } from './cleanup.js';
import { mount } from './mount.js';
import { run, type RunOptions, type RunResult } from './run.js';
import { makeDirInTree, resolveInTree, writeFileInTree } from './tree-path.js';

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
  // mount(8) follows links in its target: each mount point is resolved
  // inside the tree first (`proc -> /etc` would mount over the host's /etc).
  releases.push(await mount({ source: 'proc', target: mountPointInTree(root, 'proc'), type: 'proc' }, cleanup, runOptions));
  for (const dir of ['sys', 'dev']) {
    // rslave: unmounting inside the chroot never propagates to the host.
    releases.push(await mount({ source: `/${dir}`, target: mountPointInTree(root, dir), flags: ['--rbind', '--make-rslave'] }, cleanup, runOptions));
  }
  // Registered after the mounts, so released before them: nothing started in
  // the chroot (an interrupted apt-get's dpkg, say) may still hold them.
  releases.push(cleanup.push(`processes in ${root}`, async () => killChrootProcesses(root)));
  writeFileInTree(root, 'etc/resolv.conf', readFileSync('/etc/resolv.conf'), { mode: 0o644 });
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

/** A folder of the tree to mount on, by a host path without links. */
function mountPointInTree(root: string, inside: string): string {
  const dir = makeDirInTree(root, inside);
  if (resolveInTree(root, inside) !== dir || !lstatSync(dir).isDirectory()) {
    // A link that stays in the tree (proc -> sys): mounting there would hide
    // another mount point. Refuse rather than guess.
    throw new VaubanError(`/${inside} of ${root} is a link: refusing to mount on it`);
  }
  return dir;
}

/** Runs a command inside the chroot. */
export function runInChroot(root: string, command: string, args: readonly string[], runOptions: RunOptions = {}): Promise<RunResult> {
  // umask 022: what apt, dpkg and dracut make in the base is read by everyone at boot.
  return run('chroot', [root, command, ...args], { umask: 0o022, ...runOptions, env: { ...CHROOT_ENV, ...runOptions.env } });
}
