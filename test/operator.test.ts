// Issue 15: vauban in the operator's world, on real components but lean: a
// tiny image made of the host's own sh and tar stands in for a master (no base
// import), with the fixture Ansible repository and no stage.
// - Registry credentials as Docker keeps them: a credential helper on PATH,
//   named in a docker config.json, logs vauban in to the test registry (basic
//   auth); no REGISTRY_PASSWORD anywhere, the secret in no argv and no log.
// - --json on real runs: a rootfs and a conffs host of that image, then
//   vauban-ci's chain with an upload to a private sshd.
// - The example pipeline (examples/.gitlab-ci.yml): its rules evaluated by
//   gitlab-ci-local (a real evaluator) and its jobs' scripts run as GitLab's shell runner would, with its variables,
//   the settings and the deploy key from masked one-line variables, the
//   Ansible repository over ssh, uploads to the sshd, pushes to the registry,
//   the vault's new entries pushed back to the project.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { makeMiniImage } from './helpers/mini-image.js';
import { startProcessSampler } from './helpers/process-sampler.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { startSshd, type TestSshd } from './helpers/sshd.js';
import { runVauban, tail } from './helpers/vauban.js';

const PASSPHRASE = 'vault-passphrase-operator-test';
const ID = uniqueName('op').toLowerCase();
/** The stand-in master: its prefix (up to the first /) names the run's images. */
const SOURCE = `vauban-itest-${ID}/mini`;
/** The sha256 of a file's bytes. */
async function sha256Of(file: string): Promise<string> {
  return (await sh('sha256sum', [file])).split(' ')[0] as string;
}

const REGISTRY_PASSWORD = `helper-secret-${ID}-Xk7`;

let work: string;
let cwd: string;
let log: string;
let repo: AnsibleRepo;
let registry: TestRegistry;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let sshd: TestSshd;
let uploadKey: string;
let deployKey: string;

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

  // The PXE server and the git server in one sshd on loopback: root logs in with the upload key or the deploy key.
  uploadKey = path.join(work, 'upload-key');
  deployKey = path.join(work, 'deploy-key');
  for (const key of [uploadKey, deployKey]) await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(key), '-f', key]);
  sshd = await startSshd(path.join(work, 'sshd'), [uploadKey, deployKey].map((key) => readFileSync(`${key}.pub`, 'utf8').trim()));

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

describe('the SBOM of a master (item 7)', () => {
  it('sbom.cdx.json beside rootfs.tgz: valid CycloneDX, the image\'s Debian packages with purls; its sha256 in the rootfs\' /imginfo', async () => {
    const name = `master-${ID}-sbom`;
    const run = await runApart('vauban', ['-s', SOURCE, '-n', name, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd']);
    expect(run.exitCode, run.stderr.slice(-3000)).toBe(0);
    const text = readFileSync(path.join(cwd, 'sbom.cdx.json'), 'utf8');
    const CDX = await import('@cyclonedx/cyclonedx-library');
    expect(await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(text)).toBeNull();
    const bom = JSON.parse(text);
    expect(bom.metadata.component).toMatchObject({ type: 'operating-system', name });
    expect(bom.metadata.component.properties).toContainEqual({ name: 'vauban:image-id', value: await imageIdOf(name) });
    const debianVersion = readFileSync('/etc/debian_version', 'utf8').trim();
    const byName = new Map((bom.components as Array<{ name: string; version: string; purl: string }>).map((component) => [component.name, component]));
    expect([...byName.keys()].sort()).toEqual(['coreutils', 'dash', 'libc6', 'tar']);
    const dash = (await sh('dpkg-query', ['-W', '-f', '${Version}', 'dash'])).trim();
    expect(byName.get('dash')?.purl).toBe(`pkg:deb/debian/dash@${dash}?arch=amd64&distro=debian-${debianVersion}`);
    expect(byName.get('libc6')?.purl).toMatch(/^pkg:deb\/debian\/libc6@.+\?arch=amd64&distro=debian-[\d.]+&upstream=glibc%40/);
    // The rootfs says which document describes it.
    const image = path.join(work, 'sbom-rootfs.img');
    await bash('tar -xOf "$1" rootfs.img > "$2"', { args: [path.join(cwd, 'rootfs.tgz'), image] });
    expect(await sh('unsquashfs', ['-cat', image, 'imginfo'])).toContain(`sbom-sha256: "${sha256(path.join(cwd, 'sbom.cdx.json'))}"`);
    rmSync(image);
  });
});

describe('--json on real runs (item 5)', () => {
  it('vauban: the plan as the dry run has it, then images with ids, artifacts with size and sha256, hosts with logs, steps; stdout holds the document only', async () => {
    const name = `master-${ID}-json`;
    const args = ['-s', SOURCE, '-n', name, '-a', 'web01,web02', '-l', 'yes', '-i', 'no', '-u', 'no', '--compression', 'zstd', '--json'];
    const dry = JSON.parse((await runApart('vauban', [...args, '--dry-run'])).stdout);
    // The dry run resolved the pattern in the source image, as the run's preflight does, and names each host's archive.
    expect(dry.plan.conffs).toEqual({ pattern: 'web01,web02', hosts: ['web01', 'web02'], kept_as: 'overlayfs/<time>-overlayfs-<host>/conffs-<host>.tgz' });
    expect(dry.plan.artifacts).toEqual(['rootfs.tgz', 'sbom.cdx.json', 'overlayfs/overlayfs-web01/conffs-web01.tgz', 'overlayfs/overlayfs-web02/conffs-web02.tgz']);
    const conffsOf = (entries: Array<{ kind: string; name: string; action: string; reason: string }>) =>
      entries.filter((entry) => entry.kind === 'conffs').map(({ kind, name, action, reason }) => ({ kind, name, action, reason })).sort((a, b) => a.name.localeCompare(b.name));
    expect(conffsOf(dry.cache.entries)).toEqual(['web01', 'web02'].map((host) => ({ kind: 'conffs', name: host, action: 'build', reason: 'no earlier build recorded' })));
    // It built nothing and kept nothing in the project: no conffs folder, no vault entry.
    expect(existsSync(path.join(cwd, 'overlayfs'))).toBe(false);
    for (const host of ['web01', 'web02']) expect(existsSync(path.join(cwd, 'vault', `${host}.tar.gpg`))).toBe(false);

    const run = await runApart('vauban', args);
    expect(run.exitCode, run.stderr.slice(-3000)).toBe(0);
    // The human lines, recap included, went to stderr.
    expect(run.stderr).toMatch(/==== vauban recap ====/);
    const document = JSON.parse(run.stdout);
    expect(document.options).toEqual(dry.options);
    // The run's plan, refined with the hosts its preflight resolved, is the dry run's.
    expect(document.plan).toEqual(dry.plan);
    const result = document.result;
    expect(result).toMatchObject({ ok: true, exit_code: 0, exit_reason: 'success' });
    const sourceId = await imageIdOf(SOURCE);
    expect(result.images).toEqual([
      { name: SOURCE, from: null, step: null, playbook: null, branch: null, hostname: null, id: sourceId, built: false, cache_reason: null },
      // No stage: the master is its source's image under its own name, no build the cache decides on.
      { ...dry.plan.images[0], id: await imageIdOf(name), built: true, cache_reason: null },
    ]);
    // The same hosts, each archive where the plan said it is kept (its <time>: the run's stamp), decided as the dry run said.
    expect(result.hosts.map((host: { host: string }) => host.host)).toEqual(dry.plan.conffs.hosts);
    const stamp = /\/overlayfs\/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)-overlayfs-web01\//.exec(result.hosts[0].conffs)?.[1] as string;
    expect(stamp, result.hosts[0].conffs).toBeDefined();
    for (const host of result.hosts) {
      expect(host).toMatchObject({ ok: true, error: null, deletions: [] });
      expect(existsSync(host.log)).toBe(true);
      expect(host.conffs).toBe(path.join(cwd, dry.plan.conffs.kept_as.replaceAll('<host>', host.host).replace('<time>', stamp)));
    }
    expect(conffsOf(result.cache)).toEqual(conffsOf(dry.cache.entries));
    const rootfs = path.join(cwd, 'rootfs.tgz');
    const sbom = path.join(cwd, 'sbom.cdx.json');
    expect(result.artifacts).toEqual([
      { name: 'rootfs.tgz', path: rootfs, size: statSync(rootfs).size, sha256: sha256(rootfs) },
      { name: 'sbom.cdx.json', path: sbom, size: statSync(sbom).size, sha256: sha256(sbom) },
      ...result.hosts.map((host: { conffs: string }) => ({ name: path.relative(cwd, host.conffs), path: host.conffs, size: statSync(host.conffs).size, sha256: sha256(host.conffs) })),
    ]);
    const steps = result.steps.map((step: { step: string }) => step.step);
    for (const step of ['preflight', 'apply_stages', 'build_rootfs', 'build_conffs', 'cleanup']) expect(steps).toContain(step);
    for (const step of result.steps) expect(step.seconds).toBeGreaterThanOrEqual(0);

    // Unchanged: the dry run says each conffs is reused, with the very reason the run then gives.
    const again = JSON.parse((await runApart('vauban', [...args, '--dry-run'])).stdout);
    expect(again.plan).toEqual(dry.plan);
    expect(conffsOf(again.cache.entries).map((entry) => entry.action)).toEqual(['reuse', 'reuse']);
    const rerun = await runApart('vauban', args);
    expect(rerun.exitCode, rerun.stderr.slice(-3000)).toBe(0);
    const reran = JSON.parse(rerun.stdout);
    expect(reran.plan).toEqual(again.plan);
    expect(conffsOf(reran.result.cache)).toEqual(conffsOf(again.cache.entries));
  });

  it('vauban: a run stopped before any work still answers with the document and its reason', async () => {
    const run = await runApart('vauban', ['-s', SOURCE, '-n', `master-${ID}-nokey`, '-i', 'no', '-l', 'no', '-u', 'no', '--json'], { VAULTED_SSHD_KEYS_KEY: '' });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout).result).toMatchObject({ ok: false, exit_code: 1, exit_reason: 'setting VAULTED_SSHD_KEYS_KEY is required by the requested steps but is not set' });
  });

  it('vauban-ci: one document for the chain, each invocation with vauban\'s own result and the /imginfo', async () => {
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
    // A release of the master (B14): its rootfs and SBOM, under releases/<release>/.
    const uploaded = (invocation.run.result.uploaded as string[]).map((entry) => entry.replace(/\/releases\/[^/]+\//, '/releases/<release>/'));
    for (const member of ['rootfs.tgz', 'sbom.cdx.json']) expect(uploaded).toContain(`ssh://127.0.0.1:${sshd.port}:${uploadDir}/${master}/releases/<release>/${member}`);
    expect(statSync(path.join(uploadDir, master, 'rootfs.tgz')).size).toBe(invocation.run.result.artifacts[0].size);
  });
});

interface GitlabJob {
  stage: string;
  rules: Array<{ if: string }>;
  script: string[];
}

describe('the example .gitlab-ci.yml, its jobs run as a shell runner would (item 2)', () => {
  const pipeline = yaml.load(readFileSync(fileURLToPath(new URL('../examples/.gitlab-ci.yml', import.meta.url)), 'utf8')) as {
    stages: string[];
    variables: Record<string, { value: string; description: string; options?: string[] }>;
    default: { before_script: string[]; after_script: string[]; artifacts: Record<string, unknown>; cache: Record<string, unknown> };
  } & Record<string, GitlabJob>;
  const master = `master-${ID}-gl`;
  let project: string;
  let pipelineSha: string;
  let uploadDir: string;
  let ciEnv: Record<string, string>;

  /** The pipeline's variables as "Run pipeline" pre-fills them, with the operator's choices over them. */
  function formVariables(choices: Record<string, string>): Record<string, string> {
    return { ...Object.fromEntries(Object.entries(pipeline.variables).map(([key, variable]) => [key, variable.value])), ...choices };
  }

  /**
   * The jobs whose rules hold, in stage order, as GitLab would decide them: gitlab-ci-local (a real evaluator of
   * rules, parallel: and needs:) lists the example pipeline's jobs for these variables, from a checkout of it.
   */
  async function jobsFor(variables: Record<string, string>, source = 'web'): Promise<string[]> {
    const checkout = path.join(work, 'gitlab-rules');
    if (!existsSync(checkout)) {
      mkdirSync(checkout);
      writeFileSync(path.join(checkout, '.gitlab-ci.yml'), readFileSync(fileURLToPath(new URL('../examples/.gitlab-ci.yml', import.meta.url))));
      await bash('git init -q -b master && git remote add origin https://gitlab.example.com/ops/fleet.git && git add -A && git -c user.name=t -c user.email=t@t commit -q -m pipeline', { cwd: checkout });
    }
    const glcl = fileURLToPath(new URL('../node_modules/.bin/gitlab-ci-local', import.meta.url));
    const listed = await execa(glcl, ['--list-csv', ...Object.entries({ ...variables, CI_PIPELINE_SOURCE: source }).flatMap(([key, value]) => ['--variable', `${key}=${value}`])], { cwd: checkout, env: { PATH: process.env.PATH ?? '', HOME: work }, extendEnv: false });
    const lines = listed.stdout.split('\n');
    return lines.slice(lines.findIndex((line) => line.startsWith('name;')) + 1).filter(Boolean).map((line) => line.split(';')[0] as string);
  }

  /**
   * As GitLab runs a job: a fresh checkout of the pipeline's commit (detached), before_script and script in one
   * bash -eo pipefail, then after_script in another.
   */
  async function runJob(job: string, variables: Record<string, string>) {
    const checkout = path.join(work, `gitlab-build-${job}`);
    rmSync(checkout, { recursive: true, force: true });
    await sh('git', ['clone', '-q', project, checkout]);
    await sh('git', ['-C', checkout, 'checkout', '-q', '--detach', pipelineSha]);
    const jobEnv = { ...ciEnv, ...variables, CI_PROJECT_DIR: checkout, CI_JOB_STAGE: (pipeline[job] as GitlabJob).stage, CI_JOB_NAME: job };
    const main = await execa('bash', ['-eo', 'pipefail', '-c', [...pipeline.default.before_script, ...(pipeline[job] as GitlabJob).script].join('\n')], {
      cwd: checkout, env: jobEnv, extendEnv: false, reject: false, all: true, stdin: 'ignore',
    });
    const after = await execa('bash', ['-eo', 'pipefail', '-c', pipeline.default.after_script.join('\n')], { cwd: checkout, env: jobEnv, extendEnv: false, reject: false });
    writeFileSync(log, `\n$ [job ${job}]\n${String(main.all)}\n[exit ${main.exitCode}]\n`, { flag: 'a' });
    return { exitCode: main.exitCode ?? -1, output: String(main.all), afterExit: after.exitCode, checkout };
  }

  beforeAll(async () => {
    uploadDir = path.join(work, 'pxe-gitlab');
    mkdirSync(uploadDir);
    // The operator's project as GitLab checks it out: config.yml and vault/.
    const seed = path.join(work, 'gitlab-seed');
    mkdirSync(path.join(seed, 'vault'), { recursive: true });
    writeFileSync(path.join(seed, 'vault', '.gitkeep'), '');
    writeFileSync(path.join(seed, 'config.yml'), `"mini.raw":\n  name: ${SOURCE}\n  ${master}:\n    stages: []\n    conffs: "web01"\n`);
    project = path.join(work, 'gitlab-project.git');
    await bash('git init -q -b master "$1" && git -C "$1" add -A && git -C "$1" -c user.name=t -c user.email=t@t commit -q -m seed && git clone -q --bare "$1" "$2"', { args: [seed, project] });
    pipelineSha = (await sh('git', ['-C', project, 'rev-parse', 'master'])).trim();

    const secrets = {
      REGISTRY_HOSTNAME: registry.host,
      REGISTRY_USERNAME: registry.username,
      REGISTRY_PASSWORD,
      // Over ssh: the deploy key is needed (-k ./ansible-ro, written by before_script).
      ANSIBLE_REPO: `ssh://root@127.0.0.1:${sshd.port}${repo.bare}`,
      ANSIBLE_REPO_KNOWN_HOSTS: `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}`,
      VAULTED_SSHD_KEYS_KEY: PASSPHRASE,
      UPLOAD_HOSTS_LIST: `ssh://127.0.0.1:${sshd.port}`,
      UPLOAD_DIR: uploadDir,
      UPLOAD_CI_SSH_USERNAME: 'root',
      UPLOAD_CI_SSH_KEY: readFileSync(uploadKey).toString('base64'),
      UPLOAD_KNOWN_HOSTS: `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}`,
      GIT_TOKEN_USERNAME: 'vauban-ci',
      GIT_TOKEN_PASSWORD: `git-token-${ID}`,
      SQUASHFS_COMPRESSION: 'zstd',
      VAUBAN_LOG_DIR: path.join(work, 'logs'),
    };
    const dotSecretsEnv = Object.entries(secrets).map(([key, value]) => `export ${key}='${value}'`).join('\n');
    const bin = path.join(work, 'runner-bin');
    mkdirSync(bin);
    for (const command of ['vauban', 'vauban-ci', 'vauban-version-control']) await sh('ln', ['-s', path.join(BIN, `${command}.js`), path.join(bin, command)]);
    mkdirSync(path.join(work, 'home-runner'));
    ciEnv = {
      // vauban on the runner's PATH (the install line is proven by test/package.test.ts).
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: path.join(work, 'home-runner'),
      CI: 'true',
      CI_PIPELINE_SOURCE: 'web',
      CI_REPOSITORY_URL: `file://${project}`,
      CI_COMMIT_REF_NAME: 'master',
      GITLAB_USER_NAME: 'CI Bot',
      GITLAB_USER_EMAIL: 'ci@vauban.invalid',
      // Masked variables: GitLab masks one-line values only, hence base64 -w0.
      DOT_SECRETS_ENV: Buffer.from(dotSecretsEnv).toString('base64'),
      ANSIBLE_RO_KEY: readFileSync(deployKey).toString('base64'),
    };
  }, 120_000);

  it('describes every variable for the "Run pipeline" form, offers yes/no choices, and its masked values are one line', () => {
    for (const [key, variable] of Object.entries(pipeline.variables)) {
      expect(variable.description, key).toMatch(/\w{3,}/);
      if (variable.options !== undefined) expect(variable.options, key).toContain(variable.value);
    }
    for (const key of ['rootfs', 'conffs', 'initramfs', 'vc']) expect(pipeline.variables[key]?.options?.sort()).toEqual(['no', 'yes']);
    // Masked values are one line: the pipeline takes them base64-encoded and decodes them itself, into the files vauban reads.
    expect(pipeline.default.before_script).toContain(`printf '%s' "\${DOT_SECRETS_ENV:-}" | base64 -d > .secrets.env`);
    expect(pipeline.default.before_script).toContain(`if [ -n "\${ANSIBLE_RO_KEY:-}" ]; then printf '%s' "$ANSIBLE_RO_KEY" | base64 -d > ansible-ro; fi`);
  });

  it('a build: the rootfs and conffs jobs run (initramfs switched off in the form), upload, push, and commit the vault back', async () => {
    const variables = formVariables({ name: master, initramfs: 'no' });
    expect(await jobsFor(variables)).toEqual(['rootfs', 'conffs']);
    const checkouts = new Map<string, string>();
    for (const job of await jobsFor(variables)) {
      const run = await runJob(job, variables);
      checkouts.set(job, run.checkout);
      expect(run.exitCode, `${job}:\n${run.output.slice(-3000)}`).toBe(0);
      expect(run.afterExit).toBe(0);
      // after_script took the secrets away.
      expect(existsSync(path.join(run.checkout, '.secrets.env')) || existsSync(path.join(run.checkout, 'ansible-ro'))).toBe(false);
      expect(run.output).not.toContain(REGISTRY_PASSWORD);
      // The artifact the job keeps (issue 31): the --json document of its chain, the human lines in the job log.
      const result = JSON.parse(readFileSync(path.join(run.checkout, 'vauban-result.json'), 'utf8')) as { invocations: Array<{ kind: string; exit_code: number }>; result: { ok: boolean } };
      expect(result.result.ok, job).toBe(true);
      expect(result.invocations.map((invocation) => invocation.kind), job).toContain(job);
      expect(run.output).toMatch(/==> preflight/);
    }
    // Its artifacts and cache, as GitLab reads them.
    expect(pipeline.default.artifacts).toMatchObject({ when: 'always', paths: expect.arrayContaining(['logs/', 'vauban-result.json', 'sbom.cdx.json']), reports: { cyclonedx: 'sbom.cdx.json' } });
    // What the server serves is, byte for byte, what each job built in its checkout (the conffs folder renamed at the run's end).
    const built = checkouts.get('conffs') as string;
    const conffsFolder = readdirSync(path.join(built, 'overlayfs')).find((name) => name.endsWith('-overlayfs-web01')) as string;
    expect(await sha256Of(path.join(uploadDir, master, 'rootfs.tgz'))).toBe(await sha256Of(path.join(checkouts.get('rootfs') as string, 'rootfs.tgz')));
    expect(await sha256Of(path.join(uploadDir, master, 'conffs-web01.tgz'))).toBe(await sha256Of(path.join(built, 'overlayfs', conffsFolder, 'conffs-web01.tgz')));
    // The master's SBOM went with its rootfs.
    expect(JSON.parse(readFileSync(path.join(uploadDir, master, 'sbom.cdx.json'), 'utf8')).metadata.component.name).toBe(master);
    const tags = ((await registry.api(`/v2/vauban/${master}/tags/list`)).body as { tags: string[] }).tags;
    expect(tags).toEqual(expect.arrayContaining(['latest', 'deployed']));
    // Each job pushed its new entries (the second one on top of the first's): the master's keys and web01's.
    expect((await sh('git', ['-C', project, 'log', '--format=%s'])).split('\n')).toEqual(['[CI] Update vault/', '[CI] Update vault/', 'seed']);
    expect((await sh('git', ['-C', project, 'ls-tree', '--name-only', 'master', 'vault/'])).split('\n').sort()).toEqual(['vault/.gitkeep', `vault/${master}.tar.gpg`, 'vault/web01.tar.gpg']);
  });

  it('runs on schedules and API triggers as on the form and triggers; never on a push (issue 31); staged=yes: the shards and the promote (issue 29)', async () => {
    const variables = formVariables({ name: master });
    for (const source of ['web', 'trigger', 'schedule', 'api']) expect(await jobsFor(variables, source), source).toEqual(['rootfs', 'conffs', 'initramfs']);
    expect(await jobsFor(variables, 'push')).toEqual([]);
    // staged=yes: the sharded conffs job in its four copies, and the promote after them.
    expect(await jobsFor({ ...variables, staged: 'yes', initramfs: 'no' })).toEqual(['rootfs', 'conffs-shards: [1/4]', 'conffs-shards: [2/4]', 'conffs-shards: [3/4]', 'conffs-shards: [4/4]', 'promote']);
  });

  it('version control: only its job runs, and re-deploys a dated push of the registry', async () => {
    const tags = ((await registry.api(`/v2/vauban/${master}/tags/list`)).body as { tags: string[] }).tags;
    const dated = tags.find((tag) => /^\d{4}-\d\d-\d\dT\d{4}$/.test(tag)) as string;
    const variables = formVariables({ vc: 'yes', docker_image: master, docker_tag: dated, master });
    expect(await jobsFor(variables)).toEqual(['version-control']);
    rmSync(path.join(uploadDir, master, 'rootfs.tgz'));
    // `deployed` taken away in the registry's own storage: the re-deploy must put it back, on the dated push.
    const stored = path.join(work, 'registry', 'data', 'docker', 'registry', 'v2', 'repositories', 'vauban', master, '_manifests', 'tags');
    rmSync(path.join(stored, 'deployed'), { recursive: true });
    const digestOf = async (tag: string) => (await registry.api(`/v2/vauban/${master}/manifests/${tag}`, 'application/vnd.docker.distribution.manifest.v2+json')).headers.get('docker-content-digest');
    expect((await registry.api(`/v2/vauban/${master}/manifests/deployed`, 'application/vnd.docker.distribution.manifest.v2+json')).status).toBe(404);
    // A pipeline of its own: the project as the build left it, with the vault's entries.
    pipelineSha = (await sh('git', ['-C', project, 'rev-parse', 'master'])).trim();
    const run = await runJob('version-control', variables);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.output).toContain(`vauban/${master}:${dated}`);
    // The served rootfs is the one the job built from that push, and `deployed` names that push now.
    expect(await sha256Of(path.join(uploadDir, master, 'rootfs.tgz'))).toBe(await sha256Of(path.join(run.checkout, 'rootfs.tgz')));
    const datedDigest = await digestOf(dated);
    expect(datedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await digestOf('deployed')).toBe(datedDigest);
  });
});
