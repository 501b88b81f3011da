// Docker images: import, build, existence, tag.
import type { Readable } from 'node:stream';
import { VaubanError } from '../../errors.js';
import type { DockerClient } from './client.js';
import { removeContainer, splitReference } from './containers.js';
import { followProgress, type ProgressEvent } from './progress.js';

/** `docker import`: a root file system tar stream becomes the image `reference`. */
export async function importImage(docker: DockerClient, tar: Readable, reference: string, signal?: AbortSignal, labels: Record<string, string> = {}): Promise<string> {
  const { repository, tag } = splitReference(reference);
  // Dockerfile syntax: a JSON string is a valid double-quoted LABEL value.
  const changes = Object.entries(labels).map(([key, value]) => `LABEL ${key}=${JSON.stringify(value)}`);
  const response = (await docker.importImage(tar, { repo: repository, tag, ...(changes.length > 0 ? { changes } : {}) })) as unknown as Readable;
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
  /** Labels of the image made (the cache's: issue 12). */
  labels?: Record<string, string>;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * `docker build --no-cache --force-rm`: resolves with the image id, rejects
 * with the build's error. When the build fails or is interrupted, the
 * intermediate container it was running in is removed before this returns:
 * dockerd would do it too, but later than a caller checking for leftovers.
 */
export async function buildImage(docker: DockerClient, options: BuildImageOptions): Promise<string> {
  let running: string | undefined;
  const onLine = (line: string): void => {
    const match = /^ ---> Running in ([0-9a-f]{12,64})$/.exec(line);
    if (match) running = match[1];
    options.onLine?.(line);
  };
  try {
    return await runBuild(docker, options, onLine);
  } catch (error) {
    if (running !== undefined) await removeContainer(docker, running);
    throw error;
  }
}

async function runBuild(docker: DockerClient, options: BuildImageOptions, onLine: (line: string) => void): Promise<string> {
  const response = (await docker.buildImage(options.context, {
    t: options.tag,
    dockerfile: options.dockerfile,
    buildargs: options.buildArgs,
    ...(options.labels === undefined ? {} : { labels: options.labels }),
    nocache: true,
    rm: true,
    forcerm: true,
    pull: false,
  })) as unknown as Readable;
  const events: ProgressEvent[] = await followProgress(response, { onLine, signal: options.signal });
  const id = events.map((event) => event.aux?.ID).find((value) => value !== undefined);
  if (id === undefined) throw new VaubanError(`docker build of ${options.tag} returned no image id`);
  return id;
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

/** The id (sha256:...) of an image; undefined when there is none of that name. */
export async function imageId(docker: DockerClient, reference: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(reference).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** `docker tag source target`. */
export async function tagImage(docker: DockerClient, source: string, target: string): Promise<void> {
  const { repository, tag } = splitReference(target);
  await docker.getImage(source).tag({ repo: repository, tag });
}
