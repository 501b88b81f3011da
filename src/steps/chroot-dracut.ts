// chroot_dracut (A8): the kernel of the bootstrapped base and a generic dracut
// initramfs for it, built in a chroot of the base under an overlay of its own
// (dracut and its packages never reach the imported image). vmlinuz and
// initramfs.img land in the output folder; the kernel version is read from
// the kernel image itself.
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { decideArtifact, keepArtifact, restoreArtifact, writeArtifactRecord, type ArtifactDecision } from '../cache/artifact-record.js';
import { kernelInputs } from '../cache/base-identity.js';
import type { InputParts } from '../cache/inputs.js';
import path from 'node:path';
import type { Context } from '../context.js';
import { VaubanError } from '../errors.js';
import { plannedArtifact } from '../model/plan.js';
import { prepareChroot, runInChroot } from '../system/chroot.js';
import { findNewestKernel } from '../system/kernel-image.js';
import { mountOverlay } from '../system/mount.js';
import { temporaryFileFor, type TemporaryFile } from '../system/temporary-file.js';
import { copyIntoTree, existsInTree, makeDirInTree, readFileInTree, regularFileInTree, removeInTree, writeFileInTree } from '../system/tree-path.js';
import type { KernelArtifacts, MountedBase } from './types.js';

async function kernelPartsOf(ctx: Context): Promise<InputParts> {
  return kernelInputs(ctx.options, ctx.settings.values, ctx.cwd, ctx.installDir, (await ctx.projectKey())?.fingerprint);
}

/** The kernel and initramfs of an earlier run, when their inputs are unchanged and both files match their records: the base need not be mounted for them. */
export async function findCachedKernel(ctx: Context): Promise<{ reused: KernelArtifacts | undefined; reason: string }> {
  if (!ctx.runs('chroot_dracut')) return { reused: undefined, reason: '' };
  const parts = await kernelPartsOf(ctx);
  const artifacts = [plannedArtifact(ctx.plan, 'vmlinuz'), plannedArtifact(ctx.plan, 'initramfs')];
  const [vmlinuz, initramfs] = artifacts.map((artifact) => ctx.output(artifact.file)) as [string, string];
  const decisions: ArtifactDecision[] = [];
  for (const artifact of artifacts) decisions.push(await decideArtifact(ctx.output(artifact.file), parts, ctx.cachePolicy, ctx.output(artifact.kept)));
  const kernelVersion = decisions[0]?.record?.facts.kernelVersion;
  if (decisions.every((decision) => decision.action === 'reuse') && kernelVersion !== undefined && kernelVersion === decisions[1]?.record?.facts.kernelVersion) {
    for (const [index, artifact] of artifacts.entries()) {
      const decision = decisions[index] as ArtifactDecision;
      // This master's own kernel and initramfs, while the folder holds another master's.
      if (decision.restoreFrom !== undefined) restoreArtifact(decision.restoreFrom, ctx.output(artifact.file));
      ctx.report.cache.push({ kind: 'artifact', name: artifact.file, action: 'reuse', reason: decision.reason, id: decision.record?.sha256 });
    }
    ctx.reporter.info(`chroot_dracut: reused ${vmlinuz} and ${initramfs} (kernel ${kernelVersion}): ${decisions[0]?.reason ?? ''}`);
    return { reused: { kernelVersion, vmlinuz, initramfs }, reason: decisions[0]?.reason ?? '' };
  }
  return { reused: undefined, reason: decisions.find((decision) => decision.action === 'build')?.reason ?? 'the two files have different kernel versions' };
}

/** `reason`: why the cache did not reuse them (findCachedKernel), for the recap. */
export async function chrootDracut(ctx: Context, base: MountedBase | undefined, reason = 'built'): Promise<KernelArtifacts | undefined> {
  if (!ctx.runs('chroot_dracut') || base === undefined) return undefined;
  return ctx.reporter.step('chroot_dracut: kernel and initramfs', async (status) => {
    const dir = path.join(ctx.workDir, 'dracut');
    const root = path.join(dir, 'root');
    const releaseOverlay = await mountOverlay({ lower: [base.root], upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target: root }, ctx.cleanup, ctx.runOptions);
    const releaseChroot = await prepareChroot(root, ctx.cleanup, ctx.runOptions);
    const inChroot = (command: string, ...args: string[]) =>
      runInChroot(root, command, args, { ...ctx.runOptions, onLine: (line) => ctx.reporter.debug(`  ${line}`) });

    status.update('installing dracut');
    await inChroot('apt-get', 'install', '-y', '-q', '--no-install-recommends', ...dracutPackages(root));

    const kernel = await findNewestKernel(root);
    if (kernel === undefined) throw new VaubanError('the base has no kernel (/boot/vmlinuz*): bootstrap_fs should have installed one');
    const modules = `/usr/lib/modules/${kernel.version}`;
    if (!existsInTree(root, modules, { followFinal: true })) {
      throw new VaubanError(`${modules} does not exist in the base: cannot find the kernel modules of ${kernel.version}`);
    }

    // Our files go into the base's tree as a chroot would put them: the
    // base's links never lead them onto the build host.
    writeFileInTree(root, 'etc/vauban-dracut.conf', readFileSync(path.join(ctx.installDir, 'dracut.conf')), { mode: 0o644 });
    const ours = path.join(ctx.installDir, 'modules.d');
    for (const module of readdirSync(ours)) {
      const inside = `usr/lib/dracut/modules.d/${module}`;
      removeInTree(root, inside);
      makeDirInTree(root, inside);
      copyIntoTree(path.join(ours, module), root, inside);
    }
    // The project's public key (B19), which our module bakes into the initramfs: each release's SHA256SUMS must
    // then carry its signature. A project without a key builds an initramfs that checks the boot line's pins only.
    const releaseKey = await ctx.projectKey();
    removeInTree(root, 'etc/vauban/release-key.gpg');
    if (releaseKey !== undefined) {
      makeDirInTree(root, 'etc/vauban');
      writeFileInTree(root, 'etc/vauban/release-key.gpg', Buffer.from(releaseKey.publicKeyring), { mode: 0o644 });
    }
    // dracut writes its output inside the chroot; whatever the base had at
    // that name is gone first, and the result is read back inside the tree.
    removeInTree(root, 'vauban-initramfs.img');
    status.update(`dracut for ${kernel.version}`);
    await inChroot('dracut', '-N', '--conf', '/etc/vauban-dracut.conf', '-f', '-k', modules, '/vauban-initramfs.img', kernel.version);
    const built = regularFileInTree(root, 'vauban-initramfs.img');
    if (built === undefined) throw new VaubanError('dracut did not write /vauban-initramfs.img as a regular file in the chroot');

    const artifacts = [plannedArtifact(ctx.plan, 'vmlinuz'), plannedArtifact(ctx.plan, 'initramfs')];
    const [vmlinuz, initramfs] = artifacts.map((artifact) => ctx.output(artifact.file)) as [string, string];
    await copyAtomically(built, temporaryFileFor(initramfs, ctx.runId, ctx.cleanup));
    await copyAtomically(kernel.file, temporaryFileFor(vmlinuz, ctx.runId, ctx.cleanup));
    await releaseChroot();
    await releaseOverlay();
    const parts = await kernelPartsOf(ctx);
    for (const artifact of artifacts) {
      const file = ctx.output(artifact.file);
      const sha256 = await writeArtifactRecord(file, parts, { kernelVersion: kernel.version });
      keepArtifact(file, ctx.output(artifact.kept));
      ctx.report.cache.push({ kind: 'artifact', name: artifact.file, action: 'build', reason, id: sha256 });
    }
    ctx.report.artifacts.push(vmlinuz, initramfs);
    ctx.reporter.info(`kernel ${kernel.version}: ${vmlinuz}, ${initramfs}${releaseKey === undefined ? '' : ` (releases must carry the signature of the project key ${releaseKey.fingerprint.slice(-16)})`}`);
    return { kernelVersion: kernel.version, vmlinuz, initramfs };
  });
}

/** dracut's packages for the base's Debian release (A8). */
function dracutPackages(root: string): string[] {
  const version = readFileInTree(root, 'etc/debian_version')?.toString('utf8').trim() ?? '';
  const packages = ['dracut', 'dracut-core', 'dracut-network'];
  // Debian 10 has no dracut-live; later releases need it, and curl for livenet.
  if (!version.startsWith('10.')) packages.push('dracut-live', 'curl', 'ca-certificates');
  // zstd: dracut.conf compresses with it (about 3x faster than gzip here).
  packages.push('zstd');
  return packages;
}

async function copyAtomically(source: string, target: TemporaryFile): Promise<void> {
  copyFileSync(source, target.path);
  await target.commit();
}
