// upload: the artifacts to every PXE server, in the layout of A9.
import type { Context } from '../context.js';
import { notImplemented } from './not-implemented.js';
import type { ConffsArtifact, KernelArtifacts, RootfsArtifact } from './types.js';

export interface UploadInput {
  kernel: KernelArtifacts | undefined;
  rootfs: RootfsArtifact | undefined;
  conffs: ConffsArtifact[] | undefined;
}

export async function upload(ctx: Context, input: UploadInput): Promise<undefined> {
  if (!ctx.runs('upload')) return undefined;
  void input;
  return notImplemented('upload');
}
