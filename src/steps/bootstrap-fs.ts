// bootstrap_fs (A8): prepares the base in a chroot before it is imported, so
// that a rootfs and an initramfs built from the same base carry the same
// kernel: working DNS, an empty fstab, contrib/non-free components, grub and
// initramfs-tools gone (dracut takes over as the initramfs tool), locales,
// lsb-release and the newest linux-image-amd64, older kernels removed.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { prepareChroot, runInChroot } from '../system/chroot.js';
import type { MountedBase } from './types.js';

export async function bootstrapFs(ctx: Context, base: MountedBase | undefined): Promise<undefined> {
  if (!ctx.runs('bootstrap_fs') || base === undefined) return undefined;
  await ctx.reporter.step('bootstrap_fs', async (status) => {
    const root = base.root;
    const releaseChroot = await prepareChroot(root, ctx.cleanup, ctx.runOptions);
    const inChroot = (command: string, ...args: string[]) =>
      runInChroot(root, command, args, { ...ctx.runOptions, onLine: (line) => ctx.reporter.debug(`  ${line}`) });

    writeFileSync(path.join(root, 'etc/fstab'), '');
    addComponents(root);
    status.update('apt-get update');
    await inChroot('apt-get', 'update', '-q');

    const installed = await installedPackages(root);
    const grub = installed.filter((name) => /^grub|^shim-/.test(name));
    if (grub.length > 0) {
      status.update(`removing ${grub.join(' ')}`);
      await inChroot('apt-get', 'purge', '-y', '-q', ...grub);
    }
    // dracut replaces initramfs-tools as the kernel's initramfs tool (the
    // kernel package needs one of them); INITRD=No keeps package hooks from
    // building an initramfs now: chroot_dracut builds the one we ship.
    status.update('installing the newest kernel, locales, lsb-release');
    await inChroot('apt-get', 'install', '-y', '-q', '--no-install-recommends', 'linux-image-amd64', 'dracut', 'locales', 'lsb-release', 'initramfs-tools-', 'initramfs-tools-core-');

    const newest = (await inChroot('dpkg-query', '-W', '-f', '${Depends}', 'linux-image-amd64')).stdout.match(/linux-image-[^\s,(]+/)?.[0];
    const older = (await installedPackages(root)).filter((name) => /^linux-(image|headers)-\d/.test(name) && name !== newest);
    if (older.length > 0) {
      status.update(`removing older kernels ${older.join(' ')}`);
      await inChroot('apt-get', 'purge', '-y', '-q', ...older);
    }
    await inChroot('apt-get', 'autoremove', '--purge', '-y', '-q');

    const localeGen = path.join(root, 'etc/locale.gen');
    const locales = existsSync(localeGen) ? readFileSync(localeGen, 'utf8') : '';
    if (!/^en_US\.UTF-8 UTF-8/m.test(locales)) writeFileSync(localeGen, `${locales}en_US.UTF-8 UTF-8\n`);
    await inChroot('locale-gen');
    await inChroot('apt-get', 'clean');
    await releaseChroot();
  });
  return undefined;
}

/** Names of the packages installed in the base. */
async function installedPackages(root: string): Promise<string[]> {
  const { stdout } = await runInChroot(root, 'dpkg-query', ['-W', '-f', '${db:Status-Status} ${Package}\n']);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('installed '))
    .map((line) => line.slice('installed '.length));
}

/** Adds contrib and non-free (and non-free-firmware where Debian has it) to every `main` line. */
function addComponents(root: string): void {
  const extra = ['contrib', 'non-free'];
  const debianVersion = path.join(root, 'etc/debian_version');
  const major = existsSync(debianVersion) ? Number.parseInt(readFileSync(debianVersion, 'utf8'), 10) : NaN;
  if (!(major < 12)) extra.push('non-free-firmware');

  const list = path.join(root, 'etc/apt/sources.list');
  if (existsSync(list)) {
    const text = readFileSync(list, 'utf8')
      .split('\n')
      .map((line) => (/^deb(-src)?\s.*\bmain\b/.test(line) ? withComponents(line, extra) : line))
      .join('\n');
    writeFileSync(list, text);
  }
  const dir = path.join(root, 'etc/apt/sources.list.d');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).filter((entry) => entry.endsWith('.sources'))) {
    const file = path.join(dir, name);
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => (/^Components:.*\bmain\b/.test(line) ? withComponents(line, extra) : line))
      .join('\n');
    writeFileSync(file, text);
  }
}

function withComponents(line: string, extra: readonly string[]): string {
  const words = line.trim().split(/\s+/);
  return [...words, ...extra.filter((component) => !words.includes(component))].join(' ');
}
