// Issue 15: vauban in the operator's world, on real components but lean: a
// tiny image made of the host's own sh and tar stands in for a master (no base
// import), with the fixture Ansible repository and no stage.
// - Registry credentials as Docker keeps them: a credential helper on PATH,
//   named in a docker config.json, logs vauban in to the test registry (basic
//   auth); no REGISTRY_PASSWORD anywhere, the secret in no argv and no log.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { makeMiniImage } from './helpers/mini-image.js';
import { startProcessSampler } from './helpers/process-sampler.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { uniqueName } from './helpers/sh.js';
import { runVauban, tail } from './helpers/vauban.js';

const PASSPHRASE = 'vault-passphrase-operator-test';
const ID = uniqueName('op').toLowerCase();
/** The stand-in master: its prefix (up to the first /) names the run's images. */
const SOURCE = `vauban-itest-${ID}/mini`;
const REGISTRY_PASSWORD = `helper-secret-${ID}-Xk7`;

let work: string;
let cwd: string;
let log: string;
let repo: AnsibleRepo;
let registry: TestRegistry;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;

function vauban(args: string[], extraEnv: Record<string, string> = {}) {
  return runVauban('vauban', args, { cwd, env: { ...env, ...extraEnv }, log });
}

/** A docker config folder holding `config`. */
function dockerConfig(name: string, config: unknown): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  work = mkdtempSync('/var/tmp/vauban-itest-operator-');
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  mkdirSync(path.join(work, 'home'));
  log = path.join(work, 'vauban.log');
  repo = await makeAnsibleRepo(work);
  await makeMiniImage(SOURCE, work);
  registry = await startRegistry(path.join(work, 'registry'), 'robot-ci', REGISTRY_PASSWORD);

  // A credential helper as docker-credential-helpers' are: `get`, the server on stdin, JSON on stdout,
  // "credentials not found" for any other server. Its secret sits in a file of its own, as in a keyring.
  const bin = path.join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(work, 'keyring.json'), JSON.stringify({ ServerURL: registry.host, Username: registry.username, Secret: REGISTRY_PASSWORD }), { mode: 0o600 });
  writeFileSync(
    path.join(bin, 'docker-credential-vtest'),
    [
      '#!/bin/sh',
      'read -r server',
      `printf '%s %s\\n' "$*" "$server" >> "${work}/helper-calls"`,
      `if [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then cat "${work}/keyring.json"; exit 0; fi`,
      'echo "credentials not found in native keychain"; exit 1',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(bin, 'docker-credential-vtest'), 0o755);

  env = {
    HOME: path.join(work, 'home'),
    PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    ANSIBLE_REPO: repo.url,
    VAULTED_SSHD_KEYS_KEY: PASSPHRASE,
    VAUBAN_LOG_DIR: path.join(work, 'logs'),
  };
}, 300_000);

afterAll(async () => {
  await registry?.stop();
  await removeNewImages(imagesBefore);
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

describe('registry credentials as Docker keeps them (item 3)', () => {
  it('credHelpers: the helper\'s answer logs vauban in and the master is pushed; the secret in no argv and no log', async () => {
    const name = `master-${ID}-helper`;
    const config = dockerConfig('docker-helpers', { credHelpers: { [registry.host]: 'vtest' }, auths: {} });
    let pid: number | undefined;
    const sampler = startProcessSampler({ needles: { REGISTRY_PASSWORD }, rootPid: () => pid });
    const run = await runVauban('vauban', ['-s', SOURCE, '-n', name, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', '--debug'], {
      cwd,
      env: { ...env, REGISTRY_HOSTNAME: registry.host, DOCKER_CONFIG: config },
      log,
      onSpawn: (spawned) => {
        pid = spawned;
      },
    });
    const sampled = await sampler.stop();
    expect(run.exitCode, tail(run)).toBe(0);
    expect(run.output).toMatch(new RegExp(`logged in as robot-ci with the credentials of docker-credential-vtest \\(credHelpers of ${config}/config.json\\)`));
    expect(readFileSync(path.join(work, 'helper-calls'), 'utf8')).toBe(`get ${registry.host}\n`);
    const tags = (await registry.api(`/v2/vauban/${name}/tags/list`)).body as { tags: string[] };
    expect(tags.tags).toContain('latest');
    expect(run.output).not.toContain(REGISTRY_PASSWORD);
    expect(readFileSync(log, 'utf8')).not.toContain(REGISTRY_PASSWORD);
    expect([...sampled.argv].filter((argv) => argv.includes(REGISTRY_PASSWORD))).toEqual([]);
    expect(sampled.leaks).toEqual([]);
  });

  it('credsStore with nothing for this registry, and no REGISTRY_PASSWORD: one clear line, exit 1, nothing built', async () => {
    rmSync(path.join(work, 'helper-calls'), { force: true });
    const config = dockerConfig('docker-store', { credsStore: 'vtest' });
    const run = await vauban(['-s', SOURCE, '-n', `master-${ID}-nothing`, '-i', 'no', '-l', 'no', '-u', 'no'], { REGISTRY_HOSTNAME: `localhost:${registry.host.split(':')[1]}`, DOCKER_CONFIG: config });
    expect(run.exitCode).toBe(1);
    expect(run.output).toMatch(/no REGISTRY_PASSWORD, and not logged in to the registry localhost:\d+/);
    expect(readFileSync(path.join(work, 'helper-calls'), 'utf8')).toMatch(/^get localhost:\d+\n$/);
  });

  it('a helper that answers a wrong secret: the login fails naming the user and where the credentials came from', async () => {
    const config = dockerConfig('docker-wrong', { credsStore: 'vtest' });
    writeFileSync(path.join(work, 'keyring.json'), JSON.stringify({ ServerURL: registry.host, Username: registry.username, Secret: 'not-the-password' }));
    try {
      const run = await vauban(['-s', SOURCE, '-n', `master-${ID}-wrong`, '-i', 'no', '-l', 'no', '-u', 'no'], { REGISTRY_HOSTNAME: registry.host, DOCKER_CONFIG: config });
      expect(run.exitCode).toBe(1);
      expect(run.output).toMatch(new RegExp(`login to the registry ${registry.host} as robot-ci failed: .*\\(credentials of docker-credential-vtest \\(credsStore of `));
      expect(run.output).not.toContain('not-the-password');
    } finally {
      writeFileSync(path.join(work, 'keyring.json'), JSON.stringify({ ServerURL: registry.host, Username: registry.username, Secret: REGISTRY_PASSWORD }));
    }
  });
});
