// The one Docker Engine client of a run. dockerode is loaded on first use
// only, so commands that never talk to Docker (vauban -h, --dry-run) stay fast.
import type Dockerode from 'dockerode';

export type DockerClient = Dockerode;

export async function createDockerClient(): Promise<DockerClient> {
  const { default: Docker } = await import('dockerode');
  // DOCKER_HOST is honoured by docker-modem; the default is the local socket.
  return new Docker();
}
