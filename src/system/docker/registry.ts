// Pushing to and pulling from a Docker registry through the Engine API. The
// credentials travel in the X-Registry-Auth header of each request: never in
// a process argument list, never written to disk by vauban.
import type { Readable } from 'node:stream';
import type { DockerClient } from './client.js';
import { followProgress, type ProgressEvent } from './progress.js';
import { TransferProgress } from './transfer-progress.js';

export interface RegistryAuth {
  username: string;
  password: string;
  /** A token a credential helper or `docker login` keeps instead of a password (the Engine API's identitytoken). */
  identitytoken?: string;
  serveraddress: string;
}

/** Checks credentials against the registry (what `docker login` does). */
export async function checkRegistryAuth(docker: DockerClient, auth: RegistryAuth): Promise<void> {
  await docker.checkAuth(auth);
}

/** `docker push repository:tag`; `onProgress`: how far it is (TransferProgress), at each event. */
export async function pushImage(docker: DockerClient, repository: string, tag: string, auth: RegistryAuth | undefined, signal?: AbortSignal, onProgress?: (text: string) => void): Promise<void> {
  const stream = (await docker.getImage(`${repository}:${tag}`).push({ tag, authconfig: auth })) as unknown as Readable;
  await followProgress(stream, { signal, onEvent: tally(onProgress) });
}

/** `docker pull reference`; `onProgress` as for a push. */
export async function pullImage(docker: DockerClient, reference: string, auth: RegistryAuth | undefined, signal?: AbortSignal, onProgress?: (text: string) => void): Promise<void> {
  const stream = (await docker.pull(reference, { authconfig: auth })) as unknown as Readable;
  await followProgress(stream, { signal, onEvent: tally(onProgress) });
}

function tally(onProgress: ((text: string) => void) | undefined): ((event: ProgressEvent) => void) | undefined {
  if (onProgress === undefined) return undefined;
  const progress = new TransferProgress();
  return (event) => {
    progress.add(event);
    onProgress(progress.text());
  };
}
