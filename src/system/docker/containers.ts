// Docker containers vauban creates: never started, only read from, and
// removed before the function that made them returns.
import type { Readable } from 'node:stream';
import type { DockerClient } from './client.js';

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
