// import_iso: the base into Docker as <prefix>/raw-iso, then Dockerfile.base as <prefix>/iso (A4).
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';
import type { MountedBase } from './types.js';
export async function importIso(ctx: Context, base: MountedBase | undefined): Promise<string | undefined> {
  if (!ctx.runs('import_iso')) return undefined;
  return notImplemented('import_iso');
}
