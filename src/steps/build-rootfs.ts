// build_rootfs: export, clean, sshd keys, rootfs.img and rootfs.tgz (A6).
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';
import type { RootfsArtifact } from './types.js';
export async function buildRootfs(ctx: Context, image: string | undefined): Promise<RootfsArtifact | undefined> {
  if (!ctx.runs('build_rootfs')) return undefined;
  return notImplemented('build_rootfs');
}
