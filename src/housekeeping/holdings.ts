// What vauban holds (issue 31: `vauban list`): the masters of config.yml, the
// images it made on this engine, what it keeps in the project folder, and
// the releases of each master on each PXE server. Read only: nothing is made.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMasterTree, type MasterTree } from '../config/master-tree.js';
import { readMasterState, releaseNames } from '../pxe/master-state.js';
import type { PxeServer } from '../pxe/pxe-server.js';
import type { DockerClient } from '../system/docker/client.js';
import { readHeldImages, type HeldImage } from './held-images.js';
import { readKeptHoldings, type KeptHolding } from './kept-holdings.js';

export interface ServerReleases {
  server: string;
  master: string;
  releases: string[];
  live: string | undefined;
}

export interface Holdings {
  /** config.yml's tree; undefined when the folder has none. */
  tree: MasterTree | undefined;
  images: HeldImage[];
  kept: KeptHolding[];
  releases: ServerReleases[];
}

/** config.yml of the folder, when there is one. */
export async function readMasterTreeOf(cwd: string): Promise<MasterTree | undefined> {
  const file = path.join(cwd, 'config.yml');
  return existsSync(file) ? parseMasterTree(readFileSync(file, 'utf8'), 'config.yml') : undefined;
}

export async function readHoldings(input: { cwd: string; docker: DockerClient; servers: readonly PxeServer[] }): Promise<Holdings> {
  const tree = await readMasterTreeOf(input.cwd);
  const masters = tree?.all.map((master) => master.name);
  const images = await readHeldImages(input.docker, masters);
  const releases: ServerReleases[] = [];
  // The masters to look for on the servers: config.yml's, else those this engine has images of.
  const named = masters ?? [...new Set(images.flatMap((image) => image.usedBy))].sort();
  for (const server of input.servers) {
    for (const master of named) {
      const state = await readMasterState(server, master);
      if (state.releases.size > 0) releases.push({ server: server.name, master, releases: releaseNames(state), live: state.current });
    }
  }
  return { tree, images, kept: readKeptHoldings(input.cwd), releases };
}
