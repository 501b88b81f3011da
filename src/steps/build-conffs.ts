// build_conffs: per-host configuration layers (A6, A7).
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';
import type { ConffsArtifact } from './types.js';
export async function buildConffs(ctx: Context, source: string | undefined): Promise<ConffsArtifact[] | undefined> {
  if (!ctx.runs('build_conffs')) return undefined;
  return notImplemented('build_conffs');
}
