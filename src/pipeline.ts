// The build, as a table of contents: each step in the order of A2, each
// deciding for itself from the plan whether it has anything to do.
import type { Context } from './context.js';
import { duringBuild } from './errors.js';
import { applyStages } from './steps/apply-stages.js';
import { bootstrapFs } from './steps/bootstrap-fs.js';
import { buildConffs } from './steps/build-conffs.js';
import { buildRootfs } from './steps/build-rootfs.js';
import { chrootDracut, findCachedKernel } from './steps/chroot-dracut.js';
import { findCachedRawBase, importIso } from './steps/import-iso.js';
import { mountIso } from './steps/mount-iso.js';
import { PlayControllers } from './ansible/play-controller.js';
import { preflight } from './steps/preflight.js';
import { resolveHosts } from './ansible/resolve-hosts.js';
import { upload } from './steps/upload.js';

export async function runPipeline(ctx: Context): Promise<void> {
  // The Ansible controllers of the conffs hosts (issue 11): the host resolution opens the first.
  const controllers = new PlayControllers(ctx);
  try {
    await buildAll(ctx, controllers);
  } finally {
    await controllers.closeAll();
  }
}

async function buildAll(ctx: Context, controllers: PlayControllers): Promise<void> {
  // Bad input found by the preflight is a usage or configuration error (exit 1); what fails after it, a build failure.
  const checked = await preflight(ctx, controllers);
  await duringBuild(() => build(ctx, controllers, checked));
}

async function build(ctx: Context, controllers: PlayControllers, checked: Awaited<ReturnType<typeof preflight>>): Promise<void> {
  // A raw-iso of the same base, still fresh, spares the mount when no kernel is to be built from it (issue 12).
  // Likewise a kernel and initramfs of the same base (issue 12): with both, the base is not mounted at all.
  const cachedBase = await findCachedRawBase(ctx);
  const cachedKernel = await findCachedKernel(ctx);
  const needsBase = (ctx.runs('import_iso') && cachedBase === undefined) || (ctx.runs('chroot_dracut') && cachedKernel.reused === undefined);
  const base = needsBase ? await mountIso(ctx) : undefined;
  await bootstrapFs(ctx, base);
  const kernel = cachedKernel.reused ?? (await chrootDracut(ctx, base, cachedKernel.reason));
  if (kernel !== undefined) ctx.learn({ kernelVersion: kernel.kernelVersion });
  // Once imported, the base's OS name is the plan's prefix: the stages' images and the conffs' source are named from it.
  const imported = await importIso(ctx, base, cachedBase);
  const { source } = ctx.plan;
  // From a base file, the hosts are known once its image exists, before any stage is built.
  const hosts = checked.hosts ?? (ctx.runs('build_conffs') && imported !== undefined ? await ctx.reporter.step(`hosts: '${ctx.options.ansibleHost ?? ''}' in ${imported.image}`, () => resolveHosts(ctx, imported.image, controllers)) : undefined);
  if (hosts !== undefined) ctx.learn({ hosts: hosts.hosts, hostsSelected: hosts.selected });
  const shard = ctx.options.shard;
  if (shard !== undefined && hosts !== undefined && hosts.hosts.length === 0) {
    ctx.reporter.info(`shard ${shard.index}/${shard.total}: none of the ${hosts.selected} host(s) selected falls in this share: nothing to build`);
  }
  const master = await applyStages(ctx, controllers);
  const rootfs = await buildRootfs(ctx, master);
  if (rootfs?.kernelVersion !== undefined) ctx.learn({ rootfsKernelVersion: rootfs.kernelVersion });
  // The conffs of the run are built on the same source as the master (A2).
  const conffs = await buildConffs(ctx, { source, prefix: source === undefined ? undefined : ctx.plan.prefix, hosts: hosts?.hosts, macs: hosts?.macs, vars: hosts?.vars, inventory: hosts?.inventory, ahead: checked.ahead }, controllers);
  if (ctx.registry.enabled) await ctx.reporter.step('registry: pushes', () => ctx.registry.flush());
  await upload(ctx, { kernel, rootfs, conffs, selectedHosts: hosts?.selectedHosts });
  // The uploaded rootfs' image is the one `deployed` points to (A10).
  if (rootfs !== undefined && ctx.runs('upload')) await ctx.registry.markDeployed(rootfs.image);
}
