// Docker images: import, build, inspect, tag, remove.
import type { Readable } from 'node:stream';
import { VaubanError } from '../../errors.js';
import type { DockerClient } from './client.js';
import { followProgress, type ProgressEvent } from './progress.js';

/** `docker import`: a root file system tar stream becomes the image `reference`. */
export async function importImage(docker: DockerClient, tar: Readable, reference: string, signal?: AbortSignal): Promise<string> {
  const { repository, tag } = splitReference(reference);
  const response = (await docker.importImage(tar, { repo: repository, tag })) as unknown as Readable;
  const events = await followProgress(response, { signal });
  const id = events.map((event) => event.status).find((status) => status?.startsWith('sha256:'));
  if (id === undefined) throw new VaubanError(`docker import of ${reference} returned no image id`);
  return id;
}

export interface BuildImageOptions {
  /** A tar stream of the build context. */
  context: Readable;
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

/** `docker build --no-cache --force-rm`: resolves with the image id, rejects with the build's error. */
export async function buildImage(docker: DockerClient, options: BuildImageOptions): Promise<string> {
  const response = (await docker.buildImage(options.context, {
    t: options.tag,
    dockerfile: options.dockerfile,
    buildargs: options.buildArgs,
    nocache: true,
    rm: true,
    forcerm: true,
    pull: false,
  })) as unknown as Readable;
  const events: ProgressEvent[] = await followProgress(response, { onLine: options.onLine, signal: options.signal });
  const id = events.map((event) => event.aux?.ID).find((value) => value !== undefined);
  if (id === undefined) throw new VaubanError(`docker build of ${options.tag} returned no image id`);
  return id;
}

export interface ImageDetails {
  id: string;
  /** Layer digests, bottom first. */
  layers: string[];
  upperDir: string | undefined;
  /** Lower layer folders, top first. */
  lowerDirs: string[];
}

export async function inspectImage(docker: DockerClient, reference: string): Promise<ImageDetails> {
  const info = await docker.getImage(reference).inspect();
  const data = (info.GraphDriver?.Data ?? {}) as Record<string, string | undefined>;
  return {
    id: info.Id,
    layers: info.RootFS?.Layers ?? [],
    upperDir: data.UpperDir,
    lowerDirs: data.LowerDir ? data.LowerDir.split(':') : [],
  };
}

export async function imageExists(docker: DockerClient, reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** `docker tag source target`. */
export async function tagImage(docker: DockerClient, source: string, target: string): Promise<void> {
  const { repository, tag } = splitReference(target);
  await docker.getImage(source).tag({ repo: repository, tag });
}

function splitReference(reference: string): { repository: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  return colon > slash ? { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) } : { repository: reference, tag: 'latest' };
}
