// The one Docker Engine client of a run. dockerode is loaded on first use
// only, so commands that never talk to Docker (vauban -h, --dry-run) stay fast.
// The engine is the docker CLI's: DOCKER_HOST, else the selected context
// (endpoint.ts), else the local socket.
import type Dockerode from 'dockerode';
import { contextEndpoint, endpointOptions, selectedContext } from './endpoint.js';

export type DockerClient = Dockerode;

export async function createDockerClient(env: NodeJS.ProcessEnv = process.env): Promise<DockerClient> {
  const { default: Docker } = await import('dockerode');
  const context = selectedContext(env);
  // DOCKER_HOST (honoured by docker-modem itself) or the local socket.
  if (context === undefined) return new Docker();
  return new Docker(endpointOptions(contextEndpoint(env, context), env));
}
