// The one Docker Engine client of a run. dockerode is loaded on first use
// only, so commands that never talk to Docker (vauban -h, --dry-run) stay fast.
// The engine is the docker CLI's: DOCKER_HOST, else the selected context
// (endpoint.ts), else the local socket; an ssh:// one through the system's
// ssh (ssh-dial.ts).
import type Dockerode from 'dockerode';
import { contextEndpoint, endpointOptions, selectedContext } from './endpoint.js';
import { openSshDialer } from './ssh-dial.js';

export type DockerClient = Dockerode;

export async function createDockerClient(env: NodeJS.ProcessEnv = process.env): Promise<DockerClient> {
  const { default: Docker } = await import('dockerode');
  const context = selectedContext(env);
  const endpoint = context === undefined ? undefined : contextEndpoint(env, context);
  const host = endpoint?.host ?? env.DOCKER_HOST;
  if (host?.startsWith('ssh://')) {
    // docker-modem lays DOCKER_HOST's own reading (its ssh client) under the options given: each one is overridden.
    return new Docker({ socketPath: (await openSshDialer(host)).socketPath, protocol: 'http', host: undefined, port: undefined, username: undefined });
  }
  // DOCKER_HOST (honoured by docker-modem itself: tcp://, unix://, its TLS variables) or the local socket.
  if (endpoint === undefined) return new Docker();
  return new Docker(endpointOptions(endpoint));
}
