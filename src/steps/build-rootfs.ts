// build_rootfs (A6): the master's image, read from its layers under a
// writable overlay, cleaned (no Ansible tree, no deploy key, no initrd, apt
// caches emptied, resolv.conf linked to resolvconf's, /toslash applied),
// given its sshd keys from the vault, then packed as rootfs.img (squashfs)
// inside rootfs.tgz (an uncompressed tar, as PXE servers expect). The file
// appears whole or not at all.
import { cpSync, existsSync, lstatSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { sshdKeysFor } from '../sshd-keys.js';
import { imageLayers, mountLayers } from '../system/docker/layers.js';
import { findNewestKernel } from '../system/kernel-image.js';
import { run } from '../system/run.js';
import { makeSquashfs } from '../system/squashfs.js';
import { installHostKeys } from '../vault.js';
import type { RootfsArtifact } from './types.js';

export async function buildRootfs(ctx: Context, image: string | undefined): Promise<RootfsArtifact | undefined> {
  if (!ctx.runs('build_rootfs') || image === undefined) return undefined;
  const tree = path.join(ctx.workDir, 'rootfs');
  const squashfs = path.join(ctx.workDir, 'rootfs.img');

  const { release, kernel } = await ctx.reporter.step(`build_rootfs: ${image}, cleaned, with its sshd keys`, async () => {
    const layers = await imageLayers(await ctx.docker(), image);
    const release = await mountLayers(
      { layers: layers.dirs, target: tree, upper: path.join(ctx.workDir, 'rootfs-upper'), work: path.join(ctx.workDir, 'rootfs-work') },
      ctx.cleanup,
      ctx.runOptions,
    );
    cleanTree(tree);
    installHostKeys(tree, await sshdKeysFor(ctx, ctx.options.name));
    return { release, kernel: await findNewestKernel(tree) };
  });

  await ctx.reporter.step(`build_rootfs: mksquashfs (${ctx.compression})`, async () => {
    await makeSquashfs({ source: tree, output: squashfs, compression: ctx.compression }, ctx.runOptions);
    await release();
  });

  const tarball = path.join(ctx.outputDir, 'rootfs.tgz');
  await ctx.reporter.step('build_rootfs: rootfs.tgz', async () => {
    const temporary = `${tarball}.tmp-${ctx.runId}`;
    await run('tar', ['--create', `--file=${temporary}`, `--directory=${ctx.workDir}`, 'rootfs.img'], ctx.runOptions);
    renameSync(temporary, tarball);
    rmSync(squashfs, { force: true });
  });
  ctx.report.artifacts.push(tarball);
  if (kernel === undefined) ctx.reporter.warn(`no /boot/vmlinuz* in ${image}: its kernel version is unknown`);
  return { tarball, kernelVersion: kernel?.version, image };
}

const DEFAULT_HOSTS = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n';

/** The cleanup of A6, on the tree about to be packed. */
function cleanTree(tree: string): void {
  applyToSlash(tree);
  // At boot resolvconf owns resolv.conf; the build host's must not leak in.
  const resolv = path.join(tree, 'etc/resolv.conf');
  rmSync(resolv, { force: true });
  symlinkSync('../run/resolvconf/resolv.conf', resolv);
  // apt-get clean
  for (const dir of ['var/cache/apt/archives', 'var/cache/apt/archives/partial']) {
    const full = path.join(tree, dir);
    if (!existsSync(full)) continue;
    for (const name of readdirSync(full)) if (name.endsWith('.deb')) rmSync(path.join(full, name), { force: true });
  }
  // Docker never puts /etc/hosts in an image; a server without one cannot resolve localhost.
  const hosts = path.join(tree, 'etc/hosts');
  if (!existsSync(hosts)) writeFileSync(hosts, DEFAULT_HOSTS);
  for (const name of ['pkgcache.bin', 'srcpkgcache.bin']) rmSync(path.join(tree, 'var/cache/apt', name), { force: true });
  // The Ansible tree, the deploy key vauban.sh used to leave there, initrds
  // (the initramfs is dracut's, served beside the kernel) and links to them.
  rmSync(path.join(tree, 'root/ansible'), { recursive: true, force: true });
  rmSync(path.join(tree, 'root/.ssh/id_ed25519'), { force: true });
  const boot = path.join(tree, 'boot');
  if (existsSync(boot)) {
    for (const name of readdirSync(boot)) if (name.startsWith('initrd')) rmSync(path.join(boot, name), { recursive: true, force: true });
  }
  for (const name of readdirSync(tree)) {
    if (name.startsWith('initrd.img') && lstatSync(path.join(tree, name)).isSymbolicLink()) rmSync(path.join(tree, name));
  }
}

/**
 * /toslash: what a playbook puts there lands on / at export. Docker bind-mounts
 * /etc/hosts, /etc/hostname and /etc/resolv.conf in builds, so a playbook
 * cannot write them in place (vauban's convention).
 */
export function applyToSlash(tree: string): void {
  const toSlash = path.join(tree, 'toslash');
  if (!existsSync(toSlash)) return;
  cpSync(toSlash, tree, { recursive: true, force: true, verbatimSymlinks: true });
  rmSync(toSlash, { recursive: true, force: true });
}
