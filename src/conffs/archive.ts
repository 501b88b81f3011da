// The conffs archive of a host (A6): the files its container changed, as the
// container's own tar reads them, with /toslash/* moved to / (vauban's way to
// write the files Docker bind-mounts during a build: /etc/hosts,
// /etc/hostname, /etc/resolv.conf), gzipped. Built as a stream: nothing of the
// host is written to the build host but the archive.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { KeyFile } from '../system/ssh-keygen.js';
import type { StageContainer } from '../ansible/stage-container.js';

const TO_SLASH = 'toslash';

/**
 * Reserved: where a conffs lists the paths its host's stages deleted (B15),
 * one per line, relative to /. Our dracut module (modules.d/89vauban-live)
 * removes those paths from the root and then this folder, before systemd
 * starts: a tar cannot carry a deletion, this list does.
 */
export const RESERVED_FOLDER = '.vauban-conffs';
export const DELETIONS_MEMBER = `${RESERVED_FOLDER}/deleted`;

/** The deletions a list can carry: one path a line, so a path holding a line break cannot be listed. */
export function listableDeletions(paths: readonly string[]): { listed: string[]; unlisted: string[] } {
  const listed = paths.filter((one) => !/[\n\r]/.test(one) && one !== '' && !one.split('/').includes('..'));
  return { listed, unlisted: paths.filter((one) => !listed.includes(one)) };
}

/** The members of the archive, in the order tar is given them: a member moved by /toslash wins over the one it replaces. */
export function conffsMembers(changed: readonly string[]): string[] {
  const toSlash = new Set(changed.filter((file) => file.startsWith(`${TO_SLASH}/`)).map((file) => file.slice(TO_SLASH.length + 1)));
  const direct = changed.filter((file) => file !== TO_SLASH && !file.startsWith(`${TO_SLASH}/`) && !toSlash.has(file));
  const moved = changed.filter((file) => file.startsWith(`${TO_SLASH}/`));
  return [...new Set(['.', ...direct.sort()].map((file) => (file === '.' ? '.' : `./${file}`))), ...moved.sort().map((file) => `./${file}`)];
}

/** The archive name of a member once /toslash is applied, or undefined to leave it out. */
export function archiveName(name: string): string | undefined {
  const bare = name.replace(/^\.\//, '').replace(/\/$/, '');
  if (bare === TO_SLASH) return undefined;
  if (bare.startsWith(`${TO_SLASH}/`)) return `./${name.replace(/^\.\//, '').slice(TO_SLASH.length + 1)}`;
  return name;
}

/** Packs the container's `changed` paths (relative to /) into `file`, with the list of `deletions` when there are any; resolves with the member count. */
export async function packConffs(container: StageContainer, changed: readonly string[], file: string, signal: AbortSignal, deletions: readonly string[] = []): Promise<number> {
  const tarStream = await import('tar-stream');
  const { createGzip } = await import('node:zlib');
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const seen = new Set<string>();
  let count = 0;
  extract.on('entry', (header, stream, next) => {
    const name = archiveName(header.name);
    const key = name?.replace(/\/$/, '');
    // A folder both in /toslash and at its place is packed once (the first); files moved by /toslash come last and win.
    if (name === undefined || key === undefined || (header.type === 'directory' && seen.has(key))) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    seen.add(key);
    count++;
    stream.pipe(pack.entry({ ...header, name }, (error) => next(error ?? undefined)));
  });
  extract.on('finish', () => {
    if (deletions.length > 0) {
      const header = { uid: 0, gid: 0, mtime: new Date() };
      pack.entry({ ...header, name: `./${RESERVED_FOLDER}/`, type: 'directory', mode: 0o700 });
      pack.entry({ ...header, name: `./${DELETIONS_MEMBER}`, mode: 0o600 }, `${deletions.join('\n')}\n`);
      count += 2;
    }
    pack.finalize();
  });
  const written = pipeline(pack, createGzip(), createWriteStream(file, { mode: 0o600 }), { signal });
  await container.tarOf(conffsMembers(changed), async (tar: Readable) => {
    await pipeline(tar, extract, { signal });
  });
  await written;
  return count;
}

/** The sshd keys of a host as a tar to extract at /etc: private keys 0600, public 0644 (A11). */
export async function sshdKeysTar(keys: readonly KeyFile[]): Promise<Buffer> {
  const tarStream = await import('tar-stream');
  const pack = tarStream.pack();
  // The folder first: where a stage left /etc/ssh a link (dangling in the
  // container, or leading out of it), the engine replaces the link with this
  // folder instead of failing on a path it cannot follow.
  pack.entry({ name: 'ssh', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
  for (const key of keys) {
    pack.entry({ name: `ssh/${key.name}`, mode: key.name.endsWith('.pub') ? 0o644 : 0o600, uid: 0, gid: 0, mtime: new Date() }, Buffer.from(key.data));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
