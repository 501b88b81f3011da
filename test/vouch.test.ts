// Registry reuse that is vouched for (issue 30 item 4), on the real dockerd
// and a real registry: vauban reuses a registry image of a run's inputs only
// when the project's key signed what it holds. Planted images with the right
// inputs label (unsigned, signed by another key, or carrying a signature
// copied from a real build onto other files) and a far-future build date are
// not reused, and leave nothing that a later lookup by label would find.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideImage } from '../src/cache/decide-image.js';
import { BUILT_LABEL, INPUTS_LABEL, findCachedImage } from '../src/cache/image-cache.js';
import { inputsDigest } from '../src/cache/inputs.js';
import { SIGNATURE_LABEL, signImage, vouchedContent, vouchingOf } from '../src/cache/vouch.js';
import { Registry } from '../src/registry.js';
import { Reporter } from '../src/reporter.js';
import { createDockerClient, type DockerClient } from '../src/system/docker/client.js';
import { importImage } from '../src/system/docker/images.js';
import { createProjectKey, readProjectKey, type ProjectSigner } from '../src/vault/project-key.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { bash, sh, uniqueName } from './helpers/sh.js';

let top: string;
let docker: DockerClient;
let registry: TestRegistry;
let before: HostState;
let signer: ProjectSigner;
let otherSigner: ProjectSigner;
/** The signature label of a real signed build (the first test's). */
let realSignature = '';
const NAME = uniqueName('vauban-test-vouch');
const PARTS = { kind: 'stage', playbook: 'pb.yml', test: NAME };
const DIGEST = inputsDigest(PARTS);

/** An image of one file (`content`) with the cache's labels of PARTS, built at `built`. */
async function makeImage(tag: string, content: string, built: Date, extra: Record<string, string> = {}): Promise<string> {
  const dir = mkdtempSync(path.join(top, 'image-'));
  writeFileSync(path.join(dir, 'file'), content);
  const tar = (await import('node:child_process')).spawn('tar', ['--create', '--directory', dir, '.']).stdout;
  return importImage(docker, tar, tag, undefined, { [INPUTS_LABEL]: DIGEST, [BUILT_LABEL]: built.toISOString(), ...extra });
}

function registryClient(options: { trusted?: boolean; key?: 'ours' | 'none' } = {}): { client: Registry; output: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let output = '';
  (stream as unknown as PassThrough).on('data', (chunk: Buffer) => (output += chunk.toString()));
  const client = new Registry({
    hostname: registry.host,
    username: registry.username,
    password: registry.password,
    startedAt: new Date(),
    docker: async () => docker,
    reporter: new Reporter({ mode: 'plain', color: false, debug: false, stream }),
    signal: new AbortController().signal,
    env: { DOCKER_CONFIG: path.join(top, 'docker-config') },
    projectKey: async () => (options.key === 'none' ? undefined : readProjectKey(path.join(top, 'vault'))),
    trusted: options.trusted ?? false,
  });
  return { client, output: () => output };
}

/** Pushes `image` as the registry's :latest of NAME, then removes every local image of PARTS' inputs (a fresh runner). */
async function pushAsLatest(image: string): Promise<void> {
  await sh('docker', ['tag', image, NAME]);
  const { client } = registryClient();
  client.publish(NAME);
  await client.flush();
  await forgetLocalBuilds();
}

async function forgetLocalBuilds(): Promise<void> {
  // Children first: a signed image is built on top of its unsigned one (every image, intermediate ones too).
  for (let pass = 0; pass < 5; pass++) {
    const ids = [...new Set((await sh('docker', ['image', 'ls', '-a', '-q', '--no-trunc', '--filter', `label=${INPUTS_LABEL}=${DIGEST}`])).split('\n').filter(Boolean))];
    if (ids.length === 0) return;
    for (const id of ids) await bash('docker image rm -f "$1" >/dev/null 2>&1 || true', { args: [id] });
  }
  throw new Error(`images of ${DIGEST} cannot be removed`);
}

beforeAll(async () => {
  before = await readHostState();
  docker = await createDockerClient();
  top = mkdtempSync('/var/tmp/vauban-test-vouch-');
  registry = await startRegistry(path.join(top, 'registry'), 'vouch-user', 'vouch-password-1');
  signer = await createProjectKey(path.join(top, 'vault'), 'project-passphrase');
  otherSigner = await createProjectKey(path.join(top, 'other-vault'), 'other-passphrase');
}, 120_000);

afterAll(async () => {
  try {
    await forgetLocalBuilds();
    await bash(`{ docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F -- "$1" | xargs -r docker image rm -f >/dev/null; } || true`, { args: [NAME] });
  } finally {
    await registry?.stop();
    rmSync(top, { recursive: true, force: true });
  }
  expect(await readHostState()).toEqual(before);
});

describe('images vouched for by the project key', () => {
  it('signing adds only the signature label: same layers, same configuration, and the signature checks', async () => {
    const unsigned = await makeImage(`${NAME}-unsigned`, 'the build\n', new Date());
    const signed = await signImage(docker, { id: unsigned, tag: `${NAME}-signed`, signer });
    expect(signed).not.toBe(unsigned);
    const [a, b] = await Promise.all([docker.getImage(unsigned).inspect(), docker.getImage(signed).inspect()]);
    expect(b.RootFS.Layers).toEqual(a.RootFS.Layers);
    const { [SIGNATURE_LABEL]: signature, ...labels } = b.Config.Labels ?? {};
    expect(labels).toEqual(a.Config.Labels);
    // The only other change is the engine's own: an imported image's build gets the default PATH.
    expect(vouchedContent(b)).toBe(vouchedContent({ ...a, Config: { ...a.Config, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } }));
    expect(signature).toBeDefined();
    expect(b.Config.Labels?.[SIGNATURE_LABEL]).toMatch(/^[A-Za-z0-9+/=]{100,}$/);
    realSignature = b.Config.Labels?.[SIGNATURE_LABEL] ?? '';
    expect(await vouchingOf(b, await readProjectKey(path.join(top, 'vault')))).toEqual({ vouched: true });
    // Another project's key does not vouch for it; no key at all says so.
    expect((await vouchingOf(b, otherSigner)).vouched).toBe(false);
    expect(await vouchingOf(b, undefined)).toMatchObject({ vouched: false, why: expect.stringContaining('no signing key') });
    expect(await vouchingOf(a, signer)).toEqual({ vouched: false, why: 'it carries no signature' });
  }, 120_000);

  it('a signed build in the registry is reused by a run that has none of it (a fresh runner)', async () => {
    const signed = await signImage(docker, { id: await makeImage(`${NAME}-build`, 'the build\n', new Date()), tag: `${NAME}-build`, signer });
    await pushAsLatest(signed);
    expect(await findCachedImage(docker, DIGEST)).toBeUndefined();
    const { client, output } = registryClient();
    expect(await client.pullBuildOf(NAME, DIGEST)).toBe(signed);
    expect(output()).not.toMatch(/not reused/);
    await forgetLocalBuilds();
  }, 180_000);

  it('planted images with the right inputs label are not reused, and leave nothing a lookup by label finds', async () => {
    const copied = realSignature;
    expect(copied).not.toBe('');
    const future = new Date('2099-01-01T00:00:00Z');
    const plants: Array<[string, () => Promise<string>, RegExp]> = [
      ['unsigned, dated 2099', () => makeImage(`${NAME}-plant1`, 'planted\n', future), /it carries no signature/],
      ['signed by another project key', async () => signImage(docker, { id: await makeImage(`${NAME}-plant2`, 'planted\n', future), tag: `${NAME}-plant2`, signer: otherSigner }), /is not the project's key's/],
      // A real build's signature copied onto other files: it covers the layers, so it no longer checks.
      ['a real signature on other files', () => makeImage(`${NAME}-plant3`, 'planted\n', future, { [SIGNATURE_LABEL]: copied }), /is not the project's key's/],
    ];
    for (const [what, plant, why] of plants) {
      await pushAsLatest(await plant());
      const { client, output } = registryClient();
      expect(await client.pullBuildOf(NAME, DIGEST), what).toBeUndefined();
      expect(output(), what).toMatch(why);
      expect(output(), what).toContain('REGISTRY_TRUSTED=yes');
      expect(await findCachedImage(docker, DIGEST), what).toBeUndefined();
    }
  }, 300_000);

  it('an image the run names (a source, a shard\'s master) pulled from the registry: used when signed; unsigned, the run stops naming it, and its pulled name is gone; a project without a key uses it, with a warning', async () => {
    const signed = await signImage(docker, { id: await makeImage(`${NAME}-named`, 'a master\n', new Date()), tag: `${NAME}-named`, signer });
    await pushAsLatest(signed);
    const ours = registryClient();
    expect(await ours.client.ensureLocal(NAME, true)).toBe(true);
    expect(await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', NAME])).toBe(signed);
    await forgetLocalBuilds();
    await pushAsLatest(await makeImage(`${NAME}-named-plant`, 'planted\n', new Date()));
    await expect(registryClient().client.ensureLocal(NAME, true)).rejects.toThrow(`the registry's ${registry.host}/vauban/${NAME}:latest is not used: it carries no signature`);
    expect(await sh('docker', ['image', 'ls', '-q', `${registry.host}/vauban/${NAME}:latest`])).toBe('');
    const keyless = registryClient({ key: 'none' });
    expect(await keyless.client.ensureLocal(NAME, true)).toBe(true);
    expect(keyless.output()).toMatch(/nothing vouches for it \(the project has no signing key: vauban keygen\)/);
    await forgetLocalBuilds();
  }, 300_000);

  it('REGISTRY_TRUSTED=yes reuses an unsigned image, but a build date in the future is still not believed', async () => {
    await pushAsLatest(await makeImage(`${NAME}-future`, 'unsigned, from the future\n', new Date('2099-01-01T00:00:00Z')));
    const { client } = registryClient({ trusted: true });
    const access = { docker: async () => docker, cachePolicy: { noCache: false, maxAgeDays: 7, now: new Date() }, registry: client, debug: () => undefined };
    const decision = await decideImage(access, { name: NAME, parts: PARTS, parentRebuilt: false });
    expect(decision).toMatchObject({ action: 'build', reason: 'its build date 2099-01-01 00:00 UTC is in the future: not believed' });
    await forgetLocalBuilds();
    // Trusted and dated now: reused.
    await pushAsLatest(await makeImage(`${NAME}-plain`, 'unsigned but trusted\n', new Date()));
    const reused = await decideImage({ ...access, registry: registryClient({ trusted: true }).client }, { name: NAME, parts: PARTS, parentRebuilt: false });
    expect(reused).toMatchObject({ action: 'reuse', reason: expect.stringMatching(/^inputs unchanged \(built .*\), pulled from the registry$/) });
    // Untrusted, the same image is not.
    await forgetLocalBuilds();
    const refused = await decideImage({ ...access, registry: registryClient({ key: 'none' }).client }, { name: NAME, parts: PARTS, parentRebuilt: false });
    expect(refused.action).toBe('build');
  }, 300_000);
});
