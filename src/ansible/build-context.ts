// The build context sent with each docker build: the Dockerfile, the Ansible
// working copy as `ansible/`, and small files vauban writes (`vauban/`).
// Built as one tar stream from several folders, with nothing else in it:
// no deploy key, no settings file.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runTar, type TarStream } from '../system/tar.js';

export interface BuildContextInput {
  /** The Dockerfile to send, by path. */
  dockerfile: string;
  /** The folder holding the `ansible` working copy. */
  ansibleParent: string;
  /** A folder of ours for the context's own files (created). */
  scratch: string;
  /** Files put under `vauban/` in the context, by name. */
  files: Record<string, string>;
  signal?: AbortSignal;
}

export async function createBuildContext(input: BuildContextInput): Promise<TarStream> {
  const own = path.join(input.scratch, 'vauban');
  mkdirSync(own, { recursive: true });
  // 0644 whatever the run's umask: these land in the image as they are (vauban/hostname is /etc/hostname).
  for (const [name, content] of Object.entries(input.files)) {
    writeFileSync(path.join(own, name), content, { mode: 0o644 });
    chmodSync(path.join(own, name), 0o644);
  }
  return runTar(
    [
      '--create', '--file=-', '--owner=0', '--group=0', '--numeric-owner',
      `--directory=${path.dirname(input.dockerfile)}`, path.basename(input.dockerfile),
      `--directory=${input.scratch}`, 'vauban',
      `--directory=${input.ansibleParent}`, 'ansible',
    ],
    'packing the build context',
    input.signal,
  );
}
