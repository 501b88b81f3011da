// apply_stages: one Dockerfile.stages build per stage, tagged <prefix>/<playbook>, then <name> (A4).
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';

export async function applyStages(ctx: Context, source: string | undefined): Promise<string | undefined> {
  if (!ctx.runs('apply_stages')) return undefined;
  return notImplemented('apply_stages');
}
