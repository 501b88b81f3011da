// chroot_dracut: vmlinuz and a generic dracut initramfs from the base (A8).
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';
import type { KernelArtifacts, MountedBase } from './types.js';
export async function chrootDracut(ctx: Context, base: MountedBase | undefined): Promise<KernelArtifacts | undefined> {
  if (!ctx.runs('chroot_dracut')) return undefined;
  return notImplemented('chroot_dracut');
}
