// bootstrap_fs: prepares the base in a chroot (A8).
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';
import type { MountedBase } from './types.js';
export async function bootstrapFs(ctx: Context, base: MountedBase | undefined): Promise<undefined> {
  if (!ctx.runs('bootstrap_fs')) return undefined;
  return notImplemented('bootstrap_fs');
}
