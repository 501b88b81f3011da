// An image's file system read straight from Docker's overlay2 layers: no
// `docker export` of gigabytes through a tar, and the files Docker hides from
// containers (/etc/hostname, /etc/hosts, /etc/resolv.conf are bind mounts in
// every container, empty in an exported one) come out as the image has them.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../../errors.js';
import type { CleanupStack } from '../cleanup.js';
import { mountOverlay } from '../mount.js';
import type { RunOptions } from '../run.js';
import type { DockerClient } from './client.js';

export interface ImageLayers {
  /** The layer folders (`.../diff`), top first. */
  dirs: string[];
  /**
   * Whether this machine sees them (overlay2, every folder here): else the
   * engine is elsewhere (DOCKER_HOST tcp://, ssh://, another mount namespace)
   * and its files come through the API (image-files.ts).
   */
  local: boolean;
  /** Why they are not local, to say in the run's output. */
  why?: string;
}

/** The overlay2 layer folders of an image, top first, and whether they are on this machine. */
export async function imageLayers(docker: DockerClient, image: string): Promise<ImageLayers> {
  const info = await docker.getImage(image).inspect();
  if (info.GraphDriver?.Name !== 'overlay2') return { dirs: [], local: false, why: `the engine's storage driver is ${info.GraphDriver?.Name ?? 'unknown'}, not overlay2` };
  const data = info.GraphDriver.Data as Record<string, string | undefined>;
  const dirs = [data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])].filter((dir): dir is string => Boolean(dir));
  if (dirs.length === 0) throw new VaubanError(`image ${image} has no layer folders`);
  const missing = dirs.find((dir) => !existsSync(dir));
  return missing === undefined ? { dirs, local: true } : { dirs, local: false, why: `its layer folders are not on this machine (${missing})` };
}

/** Whether the engine keeps its images where this machine sees them (overlay2, its data root here): the plan says how build_rootfs will read. */
export async function engineFilesHere(docker: DockerClient): Promise<boolean> {
  const info = (await docker.info()) as { Driver?: string; DockerRootDir?: string };
  return info.Driver === 'overlay2' && info.DockerRootDir !== undefined && existsSync(path.join(info.DockerRootDir, 'overlay2', 'l'));
}

export interface MountLayersOptions {
  /** Layer folders, top first. */
  layers: string[];
  target: string;
  /** A writable layer on top (for the rootfs cleanup); read-only without it. */
  upper?: string;
  work?: string;
}

/**
 * Mounts layers as one overlay. Docker keeps a short name for each layer
 * (overlay2/l/<id>); using those, relative to overlay2/, keeps the mount
 * options under the kernel's one-page limit even for deep images.
 */
export async function mountLayers(options: MountLayersOptions, cleanup: CleanupStack, runOptions: RunOptions = {}): Promise<() => Promise<void>> {
  const roots = new Set(options.layers.map((dir) => path.dirname(path.dirname(dir))));
  const root = roots.size === 1 ? [...roots][0] : undefined;
  let lower = options.layers;
  let cwd: string | undefined;
  if (root !== undefined) {
    const links = options.layers.map((dir) => {
      const link = path.join(path.dirname(dir), 'link');
      return existsSync(link) ? `l/${readFileSync(link, 'utf8').trim()}` : undefined;
    });
    if (links.every((link): link is string => link !== undefined)) {
      lower = links;
      cwd = root;
    }
  }
  return mountOverlay(
    { lower, upper: options.upper, work: options.work, target: options.target, readOnly: options.upper === undefined },
    cleanup,
    { ...runOptions, cwd },
  );
}
