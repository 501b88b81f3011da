// mount_iso: makes the base available as a writable folder (A8, B1, B2).
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';
import type { MountedBase } from './types.js';
export async function mountIso(ctx: Context): Promise<MountedBase | undefined> {
  if (!ctx.runs('mount_iso')) return undefined;
  return notImplemented('mount_iso');
}
