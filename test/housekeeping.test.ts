// `vauban list` and `vauban clean` (issue 31 item 6), run as an operator runs
// them, on the real engine and a PXE server over ssh. The images are made as
// vauban makes them: labelled with their inputs and build date, signed (a
// metadata build on top of the unsigned one), a master built FROM its parent.
// What clean removes: a build a newer one superseded, a master gone from
// config.yml and its kept artifacts; with --older-than, what is older; with
// --mirror, the mirror. Never what a master of config.yml stands on.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_LABEL, INPUTS_LABEL } from '../src/cache/image-cache.js';
import { signImage } from '../src/cache/vouch.js';
import type { DockerClient } from '../src/system/docker/client.js';
import { buildImage, importImage } from '../src/system/docker/images.js';
import { createProjectKey } from '../src/vault/project-key.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { createPxeUser, type PxeUser } from './helpers/pxe-user.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { pxeServerSettings, startSshd, type TestSshd } from './helpers/sshd.js';
import { runVauban, tail } from './helpers/vauban.js';

const ID = uniqueName('hk').toLowerCase();
const BASE = `vauban-itest-${ID}/iso`;
const MASTER = `master-${ID}`;
const GONE = `master-${ID}-gone`;
const PXE_USER = 'vauban-pxe-hk';
const DAY_MS = 86_400_000;

let before: HostState;
let work: string;
let cwd: string;
let log: string;
let env: Record<string, string>;
let docker: DockerClient;
// The second test engine (its own socket and data root): vauban clean removes every image vauban made that the
// project's config.yml does not name, and the default engine holds the suite's shared base images (and, when a
// developer runs this file, their own builds).
const ENGINE = 'unix:///run/vauban-test/docker2.sock';
const onEngine = { env: { DOCKER_HOST: ENGINE } };
let sshd: TestSshd | undefined;
let pxeUser: PxeUser | undefined;
const ids: Record<string, string> = {};

/** A one-file image labelled as vauban labels its builds; `from`: built FROM that image (a parent link, as a stage's commit has). */
async function makeImage(tag: string | undefined, built: Date, from?: string): Promise<string> {
  const labels = { [INPUTS_LABEL]: `sha256:${ID}-${tag ?? 'none'}-${built.getTime()}`, [BUILT_LABEL]: built.toISOString() };
  if (from !== undefined) {
    const tarStream = await import('tar-stream');
    const pack = tarStream.pack();
    pack.entry({ name: 'Dockerfile' }, `FROM ${from}\nRUN ["/bin/true"]\n`);
    pack.finalize();
    return buildImage(docker, { context: Readable.from(pack), dockerfile: 'Dockerfile', tag: tag ?? `${BASE}-scratch`, buildArgs: {}, labels });
  }
  const dir = mkdtempSync(path.join(work, 'image-'));
  // A shell, so that a build FROM it can run a step (its parent link is then a real build's).
  await bash('mkdir -p "$1/bin" && cp /bin/true "$1/bin/true" && ldd /bin/true | grep -o "/[^ ]*" | while read -r lib; do mkdir -p "$1$(dirname "$lib")" && cp -L "$lib" "$1$lib"; done', { args: [dir] });
  const tar = (await import('node:child_process')).spawn('tar', ['--create', '--directory', dir, '.']).stdout;
  return importImage(docker, tar, tag ?? `${BASE}-untagged`, undefined, labels);
}

async function exists(id: string): Promise<boolean> {
  return sh('docker', ['image', 'inspect', id], onEngine).then(() => true, () => false);
}

beforeAll(async () => {
  before = await readHostState();
  // Its socket given as such: docker-modem reads DOCKER_HOST from this process' environment only.
  const { default: Docker } = await import('dockerode');
  docker = new Docker({ socketPath: ENGINE.replace(/^unix:\/\//, '') });
  work = mkdtempSync('/var/tmp/vauban-itest-housekeeping-');
  chmodSync(work, 0o711);
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  log = path.join(work, 'vauban.log');
  const now = Date.now();
  // config.yml: the base, and one master on it. GONE was a master once, and is not any more.
  writeFileSync(path.join(cwd, 'config.yml'), `"base.raw":\n  name: ${BASE}\n  ${MASTER}:\n    stages: [pb_web.yml]\n`);
  const signer = await createProjectKey(path.join(cwd, 'vault'), 'housekeeping-passphrase');
  ids.base = await signImage(docker, { id: await makeImage(BASE, new Date(now - 40 * DAY_MS)), tag: BASE, signer });
  // The build of MASTER before the last: superseded once the last took its name, kept by the cache until cleaned.
  ids.superseded = await makeImage(MASTER, new Date(now - 3 * DAY_MS));
  ids.master = await signImage(docker, { id: await makeImage(MASTER, new Date(now - DAY_MS), BASE), tag: MASTER, signer });
  ids.gone = await makeImage(GONE, new Date(now - 2 * DAY_MS), BASE);
  // What the project folder keeps: each master's artifacts, the mirror.
  for (const master of [MASTER, GONE]) {
    mkdirSync(path.join(cwd, '.vauban', 'kept', master), { recursive: true });
    writeFileSync(path.join(cwd, '.vauban', 'kept', master, 'rootfs.tgz'), `rootfs of ${master}`);
  }
  mkdirSync(path.join(cwd, '.vauban', 'ansible.git', 'objects'), { recursive: true });
  writeFileSync(path.join(cwd, '.vauban', 'ansible.git', 'HEAD'), 'ref: refs/heads/master\n');
  // A PXE server over ssh with two releases of MASTER, the older one live.
  pxeUser = await createPxeUser(PXE_USER);
  const key = path.join(work, 'upload-key');
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-housekeeping', '-f', key]);
  sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${key}.pub`, 'utf8').trim()]);
  const uploadDir = path.join(work, 'pxe');
  for (const release of ['20261201T100000Z-aaaaaa', '20261202T100000Z-bbbbbb']) mkdirSync(path.join(uploadDir, MASTER, 'releases', release), { recursive: true });
  symlinkSync('releases/20261201T100000Z-aaaaaa', path.join(uploadDir, MASTER, 'current'));
  env = { HOME: path.join(work, 'home'), DOCKER_HOST: ENGINE, ...pxeServerSettings(sshd, { user: PXE_USER, keyFile: key, dir: uploadDir }) };
  mkdirSync(env.HOME as string);
}, 300_000);

afterAll(async () => {
  try {
    const left = Object.values(ids);
    for (let pass = 0; pass < 3; pass++) for (const id of left) await sh('docker', ['image', 'rm', '-f', id], onEngine).catch(() => undefined);
    await bash(`{ DOCKER_HOST="$2" docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -F -- "$1" | DOCKER_HOST="$2" xargs -r docker image rm -f >/dev/null; } || true`, { args: [ID, ENGINE] });
  } finally {
    await sshd?.stop();
    await pxeUser?.remove();
    rmSync(work, { recursive: true, force: true });
  }
  expect(await readHostState()).toEqual(before);
});

describe('vauban list and vauban clean (issue 31)', () => {
  it('list: the masters of config.yml, each image with its age, reuse state, signature and the master on it, the kept files, the releases per server', async () => {
    const run = await runVauban('vauban', ['list', '--json'], { cwd, env, log });
    expect(run.exitCode, tail(run)).toBe(0);
    const document = JSON.parse(run.stdout) as {
      vauban: string;
      schema_version: number;
      masters: Array<{ name: string; parent: string | null; stages: string[] }>;
      images: Array<{ id: string; tags: string[]; age_days: number; reuse: string; signed: boolean; used_by: string[] }>;
      kept: Array<{ kind: string; path: string; master?: string }>;
      releases: Array<{ server: string; master: string; releases: string[]; live: string | null }>;
    };
    expect(document.schema_version).toBeGreaterThan(0);
    expect(document.masters, JSON.stringify(document.masters)).toEqual([
      expect.objectContaining({ name: BASE, parent: null, stages: [] }),
      expect.objectContaining({ name: MASTER, parent: BASE, stages: ['pb_web.yml'] }),
    ]);
    const image = (id: string) => document.images.find((one) => one.id === id);
    expect(image(ids.master as string)).toMatchObject({ tags: [`${MASTER}:latest`], age_days: 1, reuse: 'reusable', signed: true, used_by: [MASTER] });
    // The base: under the master, so used by it too; 40 days old, past the 7 days of reuse.
    expect(image(ids.base as string)).toMatchObject({ tags: [`${BASE}:latest`], age_days: 40, reuse: 'stale', signed: true, used_by: [MASTER, BASE] });
    expect(image(ids.superseded as string)).toMatchObject({ tags: [], signed: false, used_by: [] });
    expect(image(ids.gone as string)).toMatchObject({ tags: [`${GONE}:latest`], used_by: [] });
    expect(document.kept.map((one) => one.path).sort()).toEqual(['.vauban/ansible.git', `.vauban/kept/${GONE}`, `.vauban/kept/${MASTER}`].sort());
    expect(document.releases).toEqual([{ server: env.UPLOAD_HOSTS_LIST, master: MASTER, releases: ['20261201T100000Z-aaaaaa', '20261202T100000Z-bbbbbb'], live: '20261201T100000Z-aaaaaa' }]);
    // The text says the same for a terminal.
    const text = await runVauban('vauban', ['list'], { cwd, env, log });
    expect(text.exitCode, tail(text)).toBe(0);
    expect(text.stdout).toContain(`  base.raw\n    ${BASE}: \n      ${MASTER}: pb_web.yml`);
    expect(text.stdout).toMatch(new RegExp(`${(ids.superseded as string).slice(7, 19)}  <no name: superseded>\\n\\s+built [^\\n]*, reusable, unsigned, no master stands on it`));
    expect(text.stdout).toContain(`: ${MASTER}: 20261201T100000Z-aaaaaa (live), 20261202T100000Z-bbbbbb`);
    // Nothing was made on the server by looking.
    expect(existsSync(path.join(env.UPLOAD_DIR as string, BASE.split('/')[0] as string))).toBe(false);
  }, 120_000);

  it('clean --dry-run says what would go and removes nothing', async () => {
    const run = await runVauban('vauban', ['clean', '--dry-run'], { cwd, env, log });
    expect(run.exitCode, tail(run)).toBe(0);
    expect(run.stdout).toContain(`would remove image ${(ids.superseded as string).slice(7, 19)} (no name,`);
    expect(run.stdout).toMatch(/superseded: a newer build holds its names/);
    expect(run.stdout).toContain(`would remove image ${(ids.gone as string).slice(7, 19)} (${GONE}:latest,`);
    expect(run.stdout).toContain(`would remove .vauban/kept/${GONE} (`);
    expect(run.stdout).not.toContain(MASTER + ':latest');
    expect(run.stdout).not.toContain('ansible.git');
    for (const id of Object.values(ids)) expect(await exists(id)).toBe(true);
    expect(existsSync(path.join(cwd, '.vauban', 'kept', GONE))).toBe(true);
  }, 120_000);

  it('clean removes exactly that; --older-than and --mirror take the rest they name, never what is younger', async () => {
    const run = await runVauban('vauban', ['clean', '--json'], { cwd, env, log });
    expect(run.exitCode, tail(run)).toBe(0);
    const document = JSON.parse(run.stdout) as { dry_run: boolean; items: Array<{ kind: string; done: string }> };
    expect(document.dry_run).toBe(false);
    expect(document.items).toHaveLength(3);
    expect(document.items.every((item) => item.done === 'removed')).toBe(true);
    expect(await exists(ids.superseded as string)).toBe(false);
    expect(await exists(ids.gone as string)).toBe(false);
    expect(await exists(ids.master as string)).toBe(true);
    expect(await exists(ids.base as string)).toBe(true);
    expect(existsSync(path.join(cwd, '.vauban', 'kept', GONE))).toBe(false);
    expect(existsSync(path.join(cwd, '.vauban', 'kept', MASTER))).toBe(true);
    // --older-than 30: the base (40 days) goes although the master stands on it; the master (1 day) stays.
    const older = await runVauban('vauban', ['clean', '--older-than', '30', '--mirror'], { cwd, env, log });
    expect(older.exitCode, tail(older)).toBe(0);
    // The master is built on it: it loses its name (the next run builds it again), its layers stay under the master.
    expect(older.stdout).toMatch(new RegExp(`untagged \\(images built on it keep its layers\\) image ${(ids.base as string).slice(7, 19)} \\(${BASE.replace('/', '\\/')}:latest, [^)]*\\): older than 30 days \\(used by ${MASTER}, ${BASE}: its next run builds it again\\)`));
    expect(await sh('docker', ['image', 'ls', '-q', BASE], onEngine)).toBe('');
    expect(older.stdout).toContain('removed .vauban/ansible.git');
    expect(await exists(ids.master as string)).toBe(true);
    expect(existsSync(path.join(cwd, '.vauban', 'ansible.git'))).toBe(false);
    expect(existsSync(path.join(cwd, '.vauban', 'kept', MASTER))).toBe(true);
    // A second clean finds nothing.
    const again = await runVauban('vauban', ['clean'], { cwd, env, log });
    expect(again.stdout).toContain('nothing to remove');
  }, 120_000);

  it('a wrong --older-than is a usage error (exit 1), answered in --json too', async () => {
    const run = await runVauban('vauban', ['clean', '--older-than', 'ten', '--json'], { cwd, env, log });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ result: { ok: false, exit_code: 1, exit_reason: expect.stringContaining('expected a whole number of days') } });
  });
});
