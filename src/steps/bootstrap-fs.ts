// bootstrap_fs (A8): prepares the base in a chroot before it is imported, so
// that a rootfs and an initramfs built from the same base carry the same
// kernel: working DNS, an empty fstab, contrib/non-free components, grub and
// initramfs-tools gone (dracut takes over as the initramfs tool), locales,
// lsb-release and the newest linux-image-amd64, older kernels removed.
import { lstatSync, readdirSync } from 'node:fs';
import type { Context } from '../context.js';
import { prepareChroot, runInChroot } from '../system/chroot.js';
import { readFileInTree, resolveInTree, writeFileInTree } from '../system/tree-path.js';
import type { MountedBase } from './types.js';

export async function bootstrapFs(ctx: Context, base: MountedBase | undefined): Promise<undefined> {
  if (!ctx.runs('bootstrap_fs') || base === undefined) return undefined;
  await ctx.reporter.step('bootstrap_fs', async (status) => {
    const root = base.root;
    const releaseChroot = await prepareChroot(root, ctx.cleanup, ctx.runOptions);
    const inChroot = (command: string, ...args: string[]) =>
      runInChroot(root, command, args, { ...ctx.runOptions, onLine: (line) => ctx.reporter.debug(`  ${line}`) });

    writeFileInTree(root, 'etc/fstab', '', { mode: 0o644 });
    addComponents(root);
    status.update('apt-get update');
    // Any index it could not fetch is an error (apt's default only warns, and the install below would then fail
    // on "unable to locate package" without naming the mirror); an apt older than the option ignores it.
    await inChroot('apt-get', 'update', '-q', '-o', 'APT::Update::Error-Mode=any');

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

    const locales = readFileInTree(root, 'etc/locale.gen')?.toString('utf8') ?? '';
    if (!/^en_US\.UTF-8 UTF-8/m.test(locales)) writeFileInTree(root, 'etc/locale.gen', `${locales}en_US.UTF-8 UTF-8\n`, { mode: 0o644 });
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

/**
 * Adds contrib and non-free (and non-free-firmware where Debian has it) to
 * every `main` line. Files are read and written inside the tree only; a
 * rewritten file replaces what was at its name.
 */
export function addComponents(root: string): void {
  const extra = ['contrib', 'non-free'];
  const debianVersion = readFileInTree(root, 'etc/debian_version');
  const major = debianVersion !== undefined ? Number.parseInt(debianVersion.toString('utf8'), 10) : NaN;
  if (!(major < 12)) extra.push('non-free-firmware');

  const rewrite = (inside: string, pattern: RegExp): void => {
    const text = readFileInTree(root, inside)?.toString('utf8');
    if (text === undefined) return;
    const changed = text
      .split('\n')
      .map((line) => (pattern.test(line) ? withComponents(line, extra) : line))
      .join('\n');
    if (changed !== text) writeFileInTree(root, inside, changed, { mode: 0o644 });
  };
  rewrite('etc/apt/sources.list', /^deb(-src)?\s.*\bmain\b/);
  const dir = resolveInTree(root, 'etc/apt/sources.list.d', { followFinal: true });
  let names: string[] = [];
  try {
    names = lstatSync(dir).isDirectory() ? readdirSync(dir) : [];
  } catch {
    return;
  }
  for (const name of names.filter((entry) => entry.endsWith('.sources'))) rewrite(`etc/apt/sources.list.d/${name}`, /^Components:.*\bmain\b/);
}

function withComponents(line: string, extra: readonly string[]): string {
  const words = line.trim().split(/\s+/);
  return [...words, ...extra.filter((component) => !words.includes(component))].join(' ');
}
