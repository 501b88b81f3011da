// Images vouched for by the project (issue 30, B19). The registry is shared:
// whoever can push there could plant a `:latest` whose vauban.inputs label
// names the inputs of a run, and every run would reuse it. So each image
// vauban builds is signed with the project's key, over what a reuse takes
// from it: its layers (by diff id: the bytes of its file system) and the
// configuration a container of it runs with, labels included (the inputs,
// the build date). The signature rides in a label of its own, added by a
// metadata-only build on top (no layer): the image then vouches for itself,
// wherever it was pulled from. An image of the registry is reused only when
// its signature is the project's over what it holds (or REGISTRY_TRUSTED=yes).
import { Readable } from 'node:stream';
import type { ImageInspectInfo } from 'dockerode';
import type { DockerClient } from '../system/docker/client.js';
import { VaubanError } from '../errors.js';
import { buildImage } from '../system/docker/images.js';
import type { ProjectKey, ProjectSigner } from '../vault/project-key.js';

export const SIGNATURE_LABEL = 'vauban.signature';

/**
 * What the signature covers, as one canonical text: the layers, and the
 * fields of the configuration a container or a child build inherits. Left
 * out: what the engine sets itself on every build (Hostname, Image, ...).
 */
export function vouchedContent(info: Pick<ImageInspectInfo, 'RootFS' | 'Config'>): string {
  const config = (info.Config ?? {}) as unknown as Record<string, unknown>;
  const labels = { ...((config.Labels as Record<string, string> | null | undefined) ?? {}) };
  delete labels[SIGNATURE_LABEL];
  const inherited: Record<string, unknown> = { Labels: labels };
  for (const key of ['Cmd', 'Entrypoint', 'Env', 'ExposedPorts', 'Healthcheck', 'OnBuild', 'Shell', 'StopSignal', 'User', 'Volumes', 'WorkingDir']) {
    const value = config[key];
    // Absent, null and empty say the same to a container: one form.
    if (value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0)) inherited[key] = value;
  }
  return canonicalJson({ layers: info.RootFS?.Layers ?? [], config: inherited });
}

/**
 * Signs the image `id` as `tag`: a build of `FROM id` that only adds the
 * signature label. Returns the signed image's id (tagged `tag`).
 */
export async function signImage(docker: DockerClient, input: { id: string; tag: string; signer: ProjectSigner; signal?: AbortSignal }): Promise<string> {
  let from = input.id;
  // The build may complete the configuration (an imported image, without Env, gets the default PATH): then the
  // signature is made again over what the signed image holds, on top of it (a second build changes nothing more).
  for (let attempt = 0; attempt < 2; attempt++) {
    const content = vouchedContent(await docker.getImage(from).inspect());
    const signature = Buffer.from(await input.signer.sign(content)).toString('base64');
    const signed = await buildImage(docker, {
      context: await dockerfileContext(`FROM ${from}\n`),
      dockerfile: 'Dockerfile',
      tag: input.tag,
      buildArgs: {},
      labels: { [SIGNATURE_LABEL]: signature },
      ...(input.signal === undefined ? {} : { signal: input.signal }),
    });
    if (vouchedContent(await docker.getImage(signed).inspect()) === content) return signed;
    from = signed;
  }
  throw new VaubanError(`signing ${input.tag}: the engine changes the configuration of every build on top of it, the signature cannot cover it`);
}

export type Vouching = { vouched: true } | { vouched: false; why: string };

/** Whether the image's signature label is the project's over what the image holds. */
export async function vouchingOf(info: Pick<ImageInspectInfo, 'RootFS' | 'Config'>, key: ProjectKey | undefined): Promise<Vouching> {
  const label = info.Config?.Labels?.[SIGNATURE_LABEL];
  if (label === undefined || label === '') return { vouched: false, why: 'it carries no signature' };
  if (key === undefined) return { vouched: false, why: 'the project has no signing key to check its signature with (vault/vauban-signing-key.asc)' };
  const ok = await key.verify(vouchedContent(info), Buffer.from(label, 'base64'));
  return ok ? { vouched: true } : { vouched: false, why: `its signature is not the project's key's (${key.fingerprint.slice(-16)}) over what it holds` };
}

/** JSON with every object's keys sorted: one text for one value, whatever order the engine listed them in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

async function dockerfileContext(dockerfile: string): Promise<Readable> {
  const tarStream = await import('tar-stream');
  const pack = tarStream.pack();
  pack.entry({ name: 'Dockerfile', mode: 0o644 }, dockerfile);
  pack.finalize();
  return Readable.from(pack);
}
