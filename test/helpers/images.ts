// Docker images made by a test: listed, searched for secrets, removed.
import { readdirSync } from 'node:fs';
import { bash, sh } from './sh.js';

/** Image ids present now. */
export async function imageIds(): Promise<Set<string>> {
  return new Set((await sh('docker', ['image', 'ls', '-aq', '--no-trunc'])).split('\n').filter(Boolean));
}

/** Removes every image that appeared since `before` (tags first, then ids). */
export async function removeNewImages(before: Set<string>): Promise<void> {
  const after = await imageIds();
  const created = [...after].filter((id) => !before.has(id));
  if (created.length === 0) return;
  await sh('docker', ['image', 'rm', '-f', ...created]).catch(() => undefined);
  await sh('docker', ['image', 'prune', '-f']).catch(() => undefined);
}

/** The overlay2 layer folders of an image, top first. */
export async function layerDirs(image: string): Promise<string[]> {
  const data = JSON.parse(await sh('docker', ['image', 'inspect', '--format', '{{json .GraphDriver.Data}}', image])) as Record<string, string>;
  return [data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])].filter((dir): dir is string => Boolean(dir));
}

/** Files under `dirs` that contain `needle` (grep -rlF), empty when none. */
export async function filesContaining(dirs: string[], needle: string): Promise<string[]> {
  const existing = dirs.filter((dir) => readdirSync(dir, { withFileTypes: false }).length >= 0);
  if (existing.length === 0) return [];
  const out = await bash('grep -rlF --devices=skip -e "$1" -- "${@:2}" || [ $? -eq 1 ]', { args: [needle, ...existing] });
  return out.split('\n').filter(Boolean);
}
