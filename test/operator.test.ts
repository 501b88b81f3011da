// Issue 15: vauban in the operator's world, on real components but lean: a
// tiny image made of the host's own sh and tar stands in for a master (no base
// import), with the fixture Ansible repository and no stage.
// - Registry credentials as Docker keeps them: a credential helper on PATH,
//   named in a docker config.json, logs vauban in to the test registry (basic
//   auth); no REGISTRY_PASSWORD anywhere, the secret in no argv and no log.
// - --json on real runs: a rootfs and a conffs host of that image, then
//   vauban-ci's chain with an upload to a private sshd.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { makeMiniImage } from './helpers/mini-image.js';
import { startProcessSampler } from './helpers/process-sampler.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { sh, uniqueName } from './helpers/sh.js';
import { startSshd, type TestSshd } from './helpers/sshd.js';
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
let sshd: TestSshd | undefined;

const BIN = fileURLToPath(new URL('../bin/', import.meta.url));

/** A command with stdout and stderr apart: --json writes its document on stdout only. */
async function runApart(command: 'vauban' | 'vauban-ci', args: string[], extraEnv: Record<string, string> = {}) {
  const result = await execa(process.execPath, [path.join(BIN, `${command}.js`), ...args], { cwd, env: { ...env, ...extraEnv }, extendEnv: false, reject: false, stdin: 'ignore' });
  writeFileSync(log, `\n$ ${command} ${args.join(' ')}\n${String(result.stderr)}\n[stdout]\n${String(result.stdout)}\n[exit ${result.exitCode}]\n`, { flag: 'a' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function imageIdOf(name: string): Promise<string> {
  return (await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', name])).trim();
}

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
  await sshd?.stop();
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

describe('--json on real runs (item 5)', () => {
  it('vauban: the plan as the dry run has it, then images with ids, artifacts with size and sha256, hosts with logs, steps; stdout holds the document only', async () => {
    const name = `master-${ID}-json`;
    const args = ['-s', SOURCE, '-n', name, '-a', 'web01', '-l', 'yes', '-i', 'no', '-u', 'no', '--compression', 'zstd', '--json'];
    const dry = JSON.parse((await runApart('vauban', [...args, '--dry-run'])).stdout);
    const run = await runApart('vauban', args);
    expect(run.exitCode, run.stderr.slice(-3000)).toBe(0);
    // The human lines, recap included, went to stderr.
    expect(run.stderr).toMatch(/==== vauban recap ====/);
    const document = JSON.parse(run.stdout);
    expect(document.options).toEqual(dry.options);
    expect(document.plan).toEqual(dry.plan);
    const result = document.result;
    expect(result).toMatchObject({ ok: true, exit_code: 0, exit_reason: 'success' });
    const sourceId = await imageIdOf(SOURCE);
    expect(result.images).toEqual([
      { name: SOURCE, from: null, step: null, playbook: null, branch: null, hostname: null, id: sourceId, built: false },
      { ...dry.plan.images[0], id: await imageIdOf(name), built: true },
    ]);
    const rootfs = path.join(cwd, 'rootfs.tgz');
    const [host] = result.hosts;
    expect(result.hosts).toHaveLength(1);
    expect(host).toMatchObject({ host: 'web01', ok: true, error: null, deletions: [] });
    expect(existsSync(host.log)).toBe(true);
    expect(host.conffs).toMatch(new RegExp(`^${cwd}/overlayfs/\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z-overlayfs-web01/conffs-web01\\.tgz$`));
    expect(result.artifacts).toEqual([
      { name: 'rootfs.tgz', path: rootfs, size: statSync(rootfs).size, sha256: sha256(rootfs) },
      { name: path.relative(cwd, host.conffs), path: host.conffs, size: statSync(host.conffs).size, sha256: sha256(host.conffs) },
    ]);
    const steps = result.steps.map((step: { step: string }) => step.step);
    for (const step of ['preflight', 'apply_stages', 'build_rootfs', 'build_conffs', 'cleanup']) expect(steps).toContain(step);
    for (const step of result.steps) expect(step.seconds).toBeGreaterThanOrEqual(0);
  });

  it('vauban: a run stopped before any work still answers with the document and its reason', async () => {
    const run = await runApart('vauban', ['-s', SOURCE, '-n', `master-${ID}-nokey`, '-i', 'no', '-l', 'no', '-u', 'no', '--json'], { VAULTED_SSHD_KEYS_KEY: '' });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout).result).toMatchObject({ ok: false, exit_code: 1, exit_reason: 'setting VAULTED_SSHD_KEYS_KEY is required by the requested steps but is not set' });
  });

  it('vauban-ci: one document for the chain, each invocation with vauban\'s own result and the /imginfo', async () => {
    const uploadKey = path.join(work, 'upload-key');
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', uploadKey]);
    sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${uploadKey}.pub`, 'utf8').trim()]);
    const uploadDir = path.join(work, 'pxe');
    mkdirSync(uploadDir);
    const master = `master-${ID}-ci`;
    writeFileSync(path.join(cwd, 'config.yml'), `"mini.raw":\n  name: ${SOURCE}\n  ${master}:\n    stages: []\n`);
    const run = await runApart('vauban-ci', ['--name', master, '--stage', 'rootfs', '--json'], {
      UPLOAD_HOSTS_LIST: `ssh://127.0.0.1:${sshd.port}`,
      UPLOAD_DIR: uploadDir,
      UPLOAD_CI_SSH_USERNAME: 'root',
      UPLOAD_CI_SSH_KEY: readFileSync(uploadKey).toString('base64'),
      UPLOAD_KNOWN_HOSTS: `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}`,
      SQUASHFS_COMPRESSION: 'zstd',
    });
    expect(run.exitCode, run.stderr.slice(-3000)).toBe(0);
    const document = JSON.parse(run.stdout);
    expect(document.result).toEqual({ ok: true, exit_code: 0, exit_reason: 'success' });
    expect(document.invocations).toHaveLength(1);
    const [invocation] = document.invocations;
    expect(invocation).toMatchObject({ master, kind: 'rootfs', exit_code: 0, imginfo: 'iso: vauban-test-mini\n' });
    expect(invocation.command).toBe(`vauban --source-image ${SOURCE} --name ${master} --rootfs yes --initramfs no --conffs no --upload yes --branch master`);
    expect(invocation.run.result).toMatchObject({ ok: true, exit_reason: 'success' });
    expect(invocation.run.result.uploaded).toContain(`ssh://127.0.0.1:${sshd.port}:${uploadDir}/${master}/rootfs.tgz`);
    expect(statSync(path.join(uploadDir, master, 'rootfs.tgz')).size).toBe(invocation.run.result.artifacts[0].size);
  });
});
