// An image's file system through the Engine API alone (issue 29), for an
// engine whose files are not on this machine (DOCKER_HOST tcp:// or ssh://,
// a data root in another mount namespace). `docker save` gives the image's
// layers as tars, bottom first; each is laid over the tree as overlay2 shows
// it: its whiteouts first (`.wh.<name>`: the layers below had <name>, now
// gone; `.wh..wh..opq`: the folder hides what the layers below put in it),
// then its files. Slower than reading the layer folders (every byte crosses
// the API and lands twice on disk), but the same tree: unlike `docker
// export`, the image's own /etc/hostname, hosts and resolv.conf.
import { createWriteStream, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { VaubanError } from '../../errors.js';
import { run, type RunOptions } from '../run.js';
import { removeInTree, resolveInTree } from '../tree-path.js';
import type { DockerClient } from './client.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

const saveManifest = z.array(z.object({ Layers: z.array(z.string()) })).min(1);

/** Writes the files of `image` into `target` (made, empty) from the engine's `docker save`, using `scratch` (removed after). */
export async function extractImage(docker: DockerClient, image: string, target: string, scratch: string, runOptions: RunOptions = {}): Promise<void> {
  mkdirSync(target, { recursive: true });
  mkdirSync(scratch, { recursive: true });
  try {
    const archive = path.join(scratch, 'image.tar');
    await pipeline((await docker.getImage(image).get()) as unknown as Readable, createWriteStream(archive, { mode: 0o600 }), { signal: runOptions.signal });
    const saved = path.join(scratch, 'saved');
    mkdirSync(saved);
    await run('tar', ['--extract', `--file=${archive}`, `--directory=${saved}`], runOptions);
    rmSync(archive);
    const parsed = saveManifest.safeParse(JSON.parse(readFileSync(path.join(saved, 'manifest.json'), 'utf8')));
    if (!parsed.success) throw new VaubanError(`docker save of ${image} has no manifest.json vauban can read`);
    const layers = (parsed.data[0] as { Layers: string[] }).Layers;
    for (const layer of layers) {
      const file = resolveInTree(saved, layer);
      const names = (await run('tar', ['--list', `--file=${file}`, '--quoting-style=literal'], runOptions)).stdout.split('\n');
      applyWhiteouts(target, names);
      await run('tar', ['--extract', `--file=${file}`, `--directory=${target}`, '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*', `--exclude=${WHITEOUT}*`], runOptions);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What a layer's whiteouts remove of the layers below it (every path resolved inside the tree: its links lead nowhere else). */
export function applyWhiteouts(tree: string, names: readonly string[]): void {
  for (const raw of names) {
    const name = raw.replace(/^\.\//, '').replace(/\/$/, '');
    const base = path.posix.basename(name);
    if (!base.startsWith(WHITEOUT)) continue;
    const folder = path.posix.dirname(name);
    if (base === OPAQUE) {
      const dir = resolveInTree(tree, folder);
      // Only a folder of the tree itself (a link there is replaced by the layer's folder, never followed).
      if (!(lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false)) continue;
      const entries = readdirSync(dir);
      for (const entry of entries) removeInTree(tree, path.posix.join(folder, entry));
    } else {
      removeInTree(tree, path.posix.join(folder, base.slice(WHITEOUT.length)));
    }
  }
}
