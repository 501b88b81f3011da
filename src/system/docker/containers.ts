// Docker containers vauban creates: never started, only exported, and
// removed by the cleanup stack whatever happens.
import type { Readable } from 'node:stream';
import type { CleanupStack } from '../cleanup.js';
import type { DockerClient } from './client.js';

/** `docker create` (never started), with its removal registered at once; returns the container id. */
export async function createContainer(docker: DockerClient, image: string, name: string, cleanup: CleanupStack): Promise<string> {
  const container = await docker.createContainer({ Image: image, name, Cmd: ['/bin/true'], Labels: { 'vauban.run': name } });
  cleanup.push(`container ${name}`, async () => {
    try {
      await container.remove({ force: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  });
  return container.id;
}

/** `docker export`: the container's whole file system as a tar stream. */
export async function exportContainer(docker: DockerClient, id: string): Promise<Readable> {
  return (await docker.getContainer(id).export()) as unknown as Readable;
}

/** The content of one file of an image (read through a container that is never started). */
export async function readFileFromImage(docker: DockerClient, image: string, file: string): Promise<Buffer> {
  const container = await docker.createContainer({ Image: image, Cmd: ['/bin/true'], Labels: { 'vauban.read': file } });
  try {
    const archive = (await container.getArchive({ path: file })) as unknown as Readable;
    const tarStream = await import('tar-stream');
    const extract = tarStream.extract();
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      extract.on('entry', (_header, stream, next) => {
        stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
        stream.on('end', next);
        stream.resume();
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
      archive.pipe(extract);
    });
    return Buffer.concat(chunks);
  } finally {
    await container.remove({ force: true });
  }
}
