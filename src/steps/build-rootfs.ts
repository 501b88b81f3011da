// build_rootfs (A6): the master's image, read from its layers under a
// writable overlay, cleaned (no Ansible tree, no deploy key, no initrd, apt
// caches emptied, resolv.conf linked to resolvconf's, /toslash applied),
// given its sshd keys from the vault, then packed as rootfs.img (squashfs)
// inside rootfs.tgz (an uncompressed tar, as PXE servers expect), with its
// SBOM beside it (sbom.cdx.json). The files appear whole or not at all.
import { existsSync, lstatSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import { decideArtifact, dropArtifactRecord, keepArtifact, restoreArtifact, writeArtifactRecord } from '../cache/artifact-record.js';
import { imageId } from '../cache/image-cache.js';
import type { InputParts } from '../cache/inputs.js';
import { rootfsParts } from '../cache/parts.js';
import type { Context } from '../context.js';
import { VaubanError } from '../errors.js';
import { ROOTFS_IMAGE } from '../model/local-layout.js';
import { plannedArtifact } from '../model/plan.js';
import { sshdKeysFor } from '../vault/sshd-keys.js';
import { mountImageFiles } from '../system/docker/image-files.js';
import { imageLayers, mountLayers } from '../system/docker/layers.js';
import { findNewestKernel } from '../system/kernel-image.js';
import { run } from '../system/run.js';
import { makeSquashfs, type SquashfsProgress } from '../system/squashfs.js';
import { temporaryFileFor } from '../system/temporary-file.js';
import { copyIntoTree, existsInTree, removeInTree, resolveInTree, symlinkInTree, writeFileInTree } from '../system/tree-path.js';
import { sha256File } from '../system/sha256-file.js';
import { vaultFile } from '../model/local-layout.js';
import { installHostKeys } from '../vault/vault.js';
import { writeMasterSbom } from '../sbom/master-sbom.js';
import type { RootfsArtifact } from './types.js';

export async function buildRootfs(ctx: Context, image: string | undefined): Promise<RootfsArtifact | undefined> {
  if (!ctx.runs('build_rootfs') || image === undefined) return undefined;
  const planned = { rootfs: plannedArtifact(ctx.plan, 'rootfs'), sbom: plannedArtifact(ctx.plan, 'sbom') };
  const tarball = ctx.output(planned.rootfs.file);
  // Issue 12: the same image with the same keys and compression makes the same rootfs.tgz.
  const parts = await rootfsPartsOf(ctx, image);
  const kept = ctx.output(planned.rootfs.kept);
  const keptSbom = ctx.output(planned.sbom.kept);
  let decision = await decideArtifact(tarball, parts, ctx.cachePolicy, kept);
  // Another master's rootfs.tgz is in the folder: this master's own, unchanged, goes back in its place (links, no copy).
  if (decision.action === 'reuse' && decision.restoreFrom !== undefined) {
    restoreArtifact(decision.restoreFrom, tarball);
    if (existsSync(keptSbom)) restoreArtifact(keptSbom, ctx.output(planned.sbom.file));
  }
  // Said as the dry run says it, when this run made the image.
  if (decision.action === 'build' && decision.record !== undefined && ctx.report.cache.some((entry) => entry.name === image && entry.action === 'build') && decision.reason.startsWith('image changed')) {
    decision = { ...decision, reason: 'image rebuilt' };
  }
  // The SBOM beside it is reused with it: it must still be the one recorded.
  const sbomOf = decision.record?.facts.sbom ?? '';
  if (decision.action === 'reuse' && sbomOf !== '' && !(existsSync(sbomOf) && (await sha256File(sbomOf)) === decision.record?.facts.sbomSha256)) {
    decision = { action: 'build', reason: `${path.basename(sbomOf)} does not match its record`, record: decision.record };
  }
  if (decision.action === 'reuse' && decision.record !== undefined) {
    ctx.reporter.info(`build_rootfs: reused ${tarball}: ${decision.reason}`);
    ctx.report.cache.push({ kind: 'artifact', name: planned.rootfs.file, action: 'reuse', reason: decision.reason, id: decision.record.sha256 });
    const kernelVersion = decision.record.facts.kernelVersion;
    return { tarball, sbom: decision.record.facts.sbom || undefined, kernelVersion: kernelVersion === '' ? undefined : kernelVersion, image };
  }
  dropArtifactRecord(tarball);
  const tree = path.join(ctx.workDir, 'rootfs');
  const squashfs = path.join(ctx.workDir, ROOTFS_IMAGE);

  // The engine's layer folders read in place when they are on this machine (no copy); else its files through the API.
  const layers = await imageLayers(await ctx.docker(), image);
  const reading = layers.local ? 'its layer folders read in place' : `through the Engine API (docker save): ${layers.why ?? ''}`;
  ctx.learn({ engineFiles: layers.local ? 'local' : 'api' });
  const { release, kernel } = await ctx.reporter.step(`build_rootfs: ${image} (${reading}), cleaned, with its sshd keys`, async () => {
    const upper = path.join(ctx.workDir, 'rootfs-upper');
    const work = path.join(ctx.workDir, 'rootfs-work');
    const release = layers.local
      ? await mountLayers({ layers: layers.dirs, target: tree, upper, work }, ctx.cleanup, ctx.runOptions)
      : await mountImageFiles(await ctx.docker(), image, { target: tree, scratch: path.join(ctx.workDir, 'rootfs-save'), upper, work }, ctx.cleanup, ctx.runOptions);
    cleanTree(tree);
    installHostKeys(tree, await sshdKeysFor(ctx.keyVault, ctx.options.name));
    return { release, kernel: await findNewestKernel(tree) };
  });

  const sbom = await ctx.reporter.step('build_rootfs: SBOM (CycloneDX)', async () =>
    writeMasterSbom(tree, ctx.output(planned.sbom.file), {
      master: ctx.options.name,
      imageId: await imageId(await ctx.docker(), image),
      repository: ctx.settings.values.ANSIBLE_REPO,
      installDir: ctx.installDir,
      startedAt: ctx.startedAt,
      runId: ctx.runId,
      cleanup: ctx.cleanup,
    }),
  );

  await ctx.reporter.step(`build_rootfs: mksquashfs (${ctx.compression})`, async (status) => {
    // xz takes minutes: its progress as it goes (a live line on a terminal, a line every 10 s in CI).
    const onProgress = ({ done, total, percent }: SquashfsProgress) => status.update(`${percent}% (${done} of ${total} blocks)`);
    await makeSquashfs({ source: tree, output: squashfs, compression: ctx.compression, onProgress }, ctx.runOptions);
    await release();
  });

  await ctx.reporter.step('build_rootfs: rootfs.tgz', async () => {
    // rootfs.tgz holds private sshd keys: 0600 (the run's umask), and no half of it left behind.
    const temporary = temporaryFileFor(tarball, ctx.runId, ctx.cleanup);
    await run('tar', ['--create', `--file=${temporary.path}`, `--directory=${ctx.workDir}`, ROOTFS_IMAGE], ctx.runOptions);
    await temporary.commit();
    rmSync(squashfs, { force: true });
  });
  ctx.report.artifacts.push(tarball, sbom);
  // Recorded with the keys as they are now: a first run generates them; the SBOM beside it is part of what is reused.
  const sbomSha256 = sbom === undefined ? '' : await sha256File(sbom);
  const sha256 = await writeArtifactRecord(tarball, await rootfsPartsOf(ctx, image), { kernelVersion: kernel?.version ?? '', sbom: sbom ?? '', sbomSha256 });
  ctx.report.cache.push({ kind: 'artifact', name: planned.rootfs.file, action: 'build', reason: decision.reason, id: sha256 });
  keepArtifact(tarball, kept);
  if (sbom !== undefined) keepArtifact(sbom, keptSbom);
  if (kernel === undefined) ctx.reporter.warn(`no /boot/vmlinuz* in ${image}: its kernel version is unknown`);
  return { tarball, sbom, kernelVersion: kernel?.version, image };
}

/** What rootfs.tgz is made of: the image's id, the compression, the vault entry of the master's sshd keys. */
async function rootfsPartsOf(ctx: Context, image: string): Promise<InputParts> {
  const entry = vaultFile(ctx.vaultDir, ctx.options.name);
  const keys = existsSync(entry) ? await sha256File(entry) : '';
  return rootfsParts({ name: ctx.options.name, image: await imageId(await ctx.docker(), image), compression: ctx.compression, keys });
}

const DEFAULT_HOSTS = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n';

/**
 * The cleanup of A6, on the tree about to be packed. Every path is resolved
 * inside the tree (src/system/tree-path.ts): the image's own links never
 * lead a write or a deletion onto the build host.
 */
export function cleanTree(tree: string): void {
  applyToSlash(tree);
  // At boot resolvconf owns resolv.conf; the build host's must not leak in.
  symlinkInTree(tree, 'etc/resolv.conf', '../run/resolvconf/resolv.conf');
  // apt-get clean
  for (const dir of ['var/cache/apt/archives', 'var/cache/apt/archives/partial']) {
    for (const name of listFolderInTree(tree, dir)) if (name.endsWith('.deb')) removeInTree(tree, `${dir}/${name}`);
  }
  // Docker never puts /etc/hosts in an image; a server without one cannot
  // resolve localhost. Whatever the image has there (even a link) is its choice.
  if (!existsInTree(tree, 'etc/hosts')) writeFileInTree(tree, 'etc/hosts', DEFAULT_HOSTS, { mode: 0o644 });
  for (const name of ['pkgcache.bin', 'srcpkgcache.bin']) removeInTree(tree, `var/cache/apt/${name}`);
  // The Ansible tree, the deploy key vauban.sh used to leave there, initrds
  // (the initramfs is dracut's, served beside the kernel) and links to them.
  removeInTree(tree, 'root/ansible');
  removeInTree(tree, 'root/.ssh/id_ed25519');
  for (const name of listFolderInTree(tree, 'boot')) if (name.startsWith('initrd')) removeInTree(tree, `boot/${name}`);
  for (const name of readdirSync(tree)) {
    if (name.startsWith('initrd.img') && lstatSync(path.join(tree, name)).isSymbolicLink()) removeInTree(tree, name);
  }
}

/** The names in a folder of the tree (links followed inside it); none when it is not a folder. */
function listFolderInTree(tree: string, inside: string): string[] {
  const dir = resolveInTree(tree, inside, { followFinal: true });
  return existsSync(dir) && lstatSync(dir).isDirectory() ? readdirSync(dir) : [];
}

/**
 * /toslash: what a playbook puts there lands on / at export. Docker bind-mounts
 * /etc/hosts, /etc/hostname and /etc/resolv.conf in builds, so a playbook
 * cannot write them in place (vauban's convention). Copied as `cp -a` in a
 * chroot of the tree would: links of the tree followed inside it only.
 */
export function applyToSlash(tree: string): void {
  const toSlash = path.join(tree, 'toslash');
  if (!existsInTree(tree, 'toslash')) return;
  const stat = lstatSync(toSlash);
  if (!stat.isDirectory()) {
    throw new VaubanError(`/toslash of the image is not a folder${stat.isSymbolicLink() ? ` but a link to ${readlinkSync(toSlash)}` : ''}: refusing to copy it onto /`, {
      hint: 'a playbook must write the files meant for / under a real /toslash/ folder',
    });
  }
  copyIntoTree(toSlash, tree);
  removeInTree(tree, 'toslash');
}
