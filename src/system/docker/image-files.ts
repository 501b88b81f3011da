// An image's file system through the Engine API alone (issue 29), for an
// engine whose files are not on this machine (DOCKER_HOST tcp:// or ssh://,
// a data root in another mount namespace). `docker save` gives the image's
// layers as tars, bottom first. Each is unpacked into a folder of its own,
// empty, and the folders are mounted as one overlay, as Docker's overlay2
// keeps them: the same read as for a local engine (layers.ts), the same tree
// (unlike `docker export`, the image's own /etc/hostname, hosts, resolv.conf).
//
// Why a folder per layer and not one tree unpacked layer after layer: a lower
// layer's link `x -> /etc` and a higher layer's `x/file` would make tar write
// /etc/file on the build host. Unpacked alone, a layer meets only its own
// links, which GNU tar makes last (an absolute or `..` link is a placeholder
// file until the end), so nothing it writes leaves its folder; the overlay
// then joins the layers as the kernel does for Docker, never following a
// lower layer's link.
import { createWriteStream, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, type Dirent } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { VaubanError } from '../../errors.js';
import type { CleanupStack } from '../cleanup.js';
import { mountOverlay } from '../mount.js';
import { run, type RunOptions } from '../run.js';
import { resolveInTree } from '../tree-path.js';
import type { DockerClient } from './client.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

const saveManifest = z.array(z.object({ Layers: z.array(z.string()).min(1) })).min(1);

export interface ImageFilesOptions {
  /** Where the image's tree appears (an overlay mount). */
  target: string;
  /** A folder for the saved image and its unpacked layers, removed with the mount. */
  scratch: string;
  /** The writable layer on top (the rootfs cleanup writes there) and overlay's work folder. */
  upper: string;
  work: string;
}

/**
 * Mounts the files of `image` at `target` from the engine's `docker save`.
 * Returns the release (unmount, then remove the layers), also registered on
 * `cleanup` from the moment each resource exists.
 */
export async function mountImageFiles(docker: DockerClient, image: string, options: ImageFilesOptions, cleanup: CleanupStack, runOptions: RunOptions = {}): Promise<() => Promise<void>> {
  const removeScratch = cleanup.push(`the layers of ${image} in ${options.scratch}`, async () => {
    rmSync(options.scratch, { recursive: true, force: true });
  });
  mkdirSync(options.scratch, { recursive: true, mode: 0o700 });
  const layers = await unpackLayers(docker, image, options.scratch, runOptions);
  await overlayWhiteouts(layers, runOptions);
  const root = path.dirname(layers[0] as string);
  // Short names relative to their folder keep the mount options under the kernel's one-page limit.
  const lower = layers.map((dir) => path.basename(dir)).reverse();
  const unmount = await mountOverlay({ lower, upper: options.upper, work: options.work, target: options.target }, cleanup, { ...runOptions, cwd: root });
  return async () => {
    await unmount();
    await removeScratch();
  };
}

/** The image's layers, each unpacked into a folder of its own, bottom first. */
async function unpackLayers(docker: DockerClient, image: string, scratch: string, runOptions: RunOptions): Promise<string[]> {
  const archive = path.join(scratch, 'image.tar');
  await pipeline((await docker.getImage(image).get()) as unknown as Readable, createWriteStream(archive, { mode: 0o600 }), { signal: runOptions.signal });
  const saved = path.join(scratch, 'saved');
  mkdirSync(saved);
  await run('tar', ['--extract', `--file=${archive}`, `--directory=${saved}`], runOptions);
  rmSync(archive);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path.join(saved, 'manifest.json'), 'utf8'));
  } catch {
    manifest = undefined;
  }
  const parsed = saveManifest.safeParse(manifest);
  if (!parsed.success) throw new VaubanError(`docker save of ${image} has no manifest.json vauban can read`);
  const layers: string[] = [];
  for (const [index, layer] of (parsed.data[0] as { Layers: string[] }).Layers.entries()) {
    const dir = path.join(scratch, 'layers', String(index));
    mkdirSync(dir, { recursive: true });
    // Owners, modes and file capabilities as the image has them; never overlay's own
    // attributes (a crafted layer could point overlay's redirects elsewhere).
    await run(
      'tar',
      ['--extract', `--file=${resolveInTree(saved, layer, { followFinal: true })}`, `--directory=${dir}`, '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*', '--xattrs-exclude=trusted.overlay.*'],
      runOptions,
    );
    layers.push(dir);
  }
  rmSync(saved, { recursive: true, force: true });
  return layers;
}

/**
 * Turns the whiteouts of `docker save` (a name in a layer's tar) into the
 * kernel's, in each layer's folder, bottom first: `.wh.<name>` (the layers
 * below had <name>, now gone) becomes a 0/0 character device <name>;
 * `.wh..wh..opq` (the folder hides what the layers below put in it) becomes
 * such a device for every name the layers below have there. Docker sets an
 * opaque attribute instead; Node cannot set one, and this needs no extra tool.
 */
export async function overlayWhiteouts(layers: readonly string[], runOptions: RunOptions = {}): Promise<void> {
  for (const [index, layer] of layers.entries()) {
    const below = layers.slice(0, index).reverse();
    const shown = new Map<string, Set<string>>();
    const shownBelow = (folder: string): Set<string> => shown.get(folder) ?? shown.set(folder, namesBelow(below, folder)).get(folder) ?? new Set();
    const wanted = new Set<string>();
    for (const { folder, name } of whiteoutMarkers(layer)) {
      rmSync(path.join(layer, folder, name));
      const hidden = name === OPAQUE ? [...shownBelow(folder)] : [name.slice(WHITEOUT.length)];
      // Only over what the layers below show there: overlay lists a whiteout in a folder no lower layer has.
      for (const entry of hidden) if (shownBelow(folder).has(entry)) wanted.add(path.posix.join(folder, entry));
    }
    for (const inside of wanted) await makeWhiteout(layer, inside, runOptions);
  }
}

interface Marker {
  /** The folder, relative to the layer's, a real folder of the layer (no link on the way). */
  folder: string;
  name: string;
}

/** Every `.wh.*` entry of a layer, walking its real folders only. */
function whiteoutMarkers(layer: string): Marker[] {
  const found: Marker[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(path.join(layer, folder), { withFileTypes: true }) as Dirent[]) {
      if (entry.name.startsWith(WHITEOUT)) found.push({ folder, name: entry.name });
      else if (entry.isDirectory()) walk(path.posix.join(folder, entry.name));
    }
  };
  walk('');
  return found;
}

/**
 * The names the layers below show in `folder`, as overlay merges them: from
 * the nearest layer down, until one has a non-folder on the way (it hides all
 * below); a layer without the folder lets the ones below show through.
 */
function namesBelow(below: readonly string[], folder: string): Set<string> {
  const names = new Set<string>();
  for (const layer of below) {
    const kind = folderKind(layer, folder);
    if (kind === 'hidden') break;
    if (kind === 'folder') for (const name of readdirSync(path.join(layer, folder))) names.add(name);
  }
  return names;
}

/** Whether `folder` is a real folder of `layer` (every step a folder, no link), missing, or hidden by something else on the way. */
function folderKind(layer: string, folder: string): 'folder' | 'missing' | 'hidden' {
  let here = layer;
  for (const part of folder.split('/').filter((step) => step !== '')) {
    here = path.join(here, part);
    const stat = lstatSync(here, { throwIfNoEntry: false });
    if (stat === undefined) return 'missing';
    if (!stat.isDirectory()) return 'hidden';
  }
  return 'folder';
}

/** A whiteout (0/0 character device) at `inside` of the layer, unless the layer has that name itself (it hides the one below anyway). */
async function makeWhiteout(layer: string, inside: string, runOptions: RunOptions): Promise<void> {
  const folder = path.posix.dirname(inside);
  if (folderKind(layer, folder) !== 'folder') throw new VaubanError(`a whiteout of the image is under a link or a file of its own layer (/${inside}): vauban cannot read this image`);
  const file = path.join(layer, inside);
  if (lstatSync(file, { throwIfNoEntry: false }) !== undefined) return;
  // Node has no mknod; a few per image.
  await run('mknod', ['--mode=000', file, 'c', '0', '0'], runOptions);
}
