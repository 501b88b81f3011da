// Issue 29: a fleet's conffs spread over several Docker engines, one release
// all or none. A master is built and pushed to the test registry and released
// live; then the conffs of web01..03 and db01 in four shards run at the same
// time, each from its own checkout as a runner would: two through the second
// dockerd (DOCKER_HOST=tcp://127.0.0.1:23750; its data root in a mount
// namespace of its own, out of this one's reach: the master pulled from the
// registry there), one here, one with no host. One shard fails: the promote
// refuses, naming its hosts, and the live release stays; that shard run
// again, the promote makes one release, equal to a single-machine build.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../src/model/shard.js';
import { fixtureBaseImage, makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { watchConffsLogs, type LogWatch } from './helpers/logs.js';
import { createPxeUser, type PxeUser } from './helpers/pxe-user.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { pxeServerSettings, startSshd, type TestSshd } from './helpers/sshd.js';
import { runVauban, tail, type VaubanRun } from './helpers/vauban.js';

const ID = uniqueName('sh').toLowerCase().replace(/[^a-z0-9]/g, '');
const MASTER = `master-${ID}`;
const PASSPHRASE = `vault-pass-${ID}-Qe4`;
const REGISTRY_PASSWORD = `registry-pw-${ID}-Lm8`;
const PXE_USER = 'vauban-pxe-shards';
const ENGINE2 = 'tcp://127.0.0.1:23750';
const HOSTS = ['db01', 'web01', 'web02', 'web03'];
const SHARDS = 4;
const RELEASE = `20261207T160000Z-${ID}`;

let work: string;
let log: string;
let uploadDir: string;
let repo: AnsibleRepo;
let sshd: TestSshd;
let registry: TestRegistry;
let pxeUser: PxeUser;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let logs: LogWatch;
let liveBefore: string;

const shardOfHost = (host: string) => shardOf(host, SHARDS);
const hostsOf = (index: number) => HOSTS.filter((host) => shardOfHost(host) === index);
/** The shards with hosts, and one without (there are four hosts: with four shards, one is empty). */
const working = [1, 2, 3, 4].filter((index) => hostsOf(index).length > 0);
const failing = working[0] as number;

/** A checkout of the project, as a runner has it: its own folder (its own lock), the vault the single build made. */
function checkout(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const vault = path.join(work, 'single', 'vault');
  if (existsSync(vault)) cpSync(vault, path.join(dir, 'vault'), { recursive: true });
  return dir;
}

function vauban(args: string[], cwd: string, extra: Record<string, string> = {}): Promise<VaubanRun> {
  return runVauban('vauban', args, { cwd, env: { ...env, ...extra }, log });
}

function shardRun(index: number, extra: Record<string, string> = {}): Promise<VaubanRun> {
  return vauban(['-s', MASTER, '-n', MASTER, '-a', 'web,db', '--shard', `${index}/${SHARDS}`, '--release', RELEASE, 'pb_base.yml'], checkout(`shard-${index}`), extra);
}

const live = () => readlinkSync(path.join(uploadDir, MASTER, 'current'));

async function members(archive: string): Promise<string[]> {
  return (await sh('tar', ['-tzf', archive])).split('\n').filter((member) => member !== '' && !member.endsWith('/')).sort();
}

async function content(archive: string, member: string): Promise<Buffer> {
  const result = await execa('tar', ['-xzOf', archive, member], { encoding: 'buffer', stripFinalNewline: false });
  return Buffer.from(result.stdout as Uint8Array);
}

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  logs = watchConffsLogs();
  work = mkdtempSync('/var/tmp/vauban-itest-shards-');
  chmodSync(work, 0o711);
  log = path.join(work, 'vauban.log');
  repo = await makeAnsibleRepo(work);
  pxeUser = await createPxeUser(PXE_USER);
  const uploadKey = path.join(work, 'upload-key');
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-shards', '-f', uploadKey]);
  sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${uploadKey}.pub`, 'utf8').trim()]);
  uploadDir = path.join(work, 'pxe');
  mkdirSync(uploadDir, { mode: 0o755 });
  registry = await startRegistry(path.join(work, 'registry'), 'vauban-ci', REGISTRY_PASSWORD);
  mkdirSync(path.join(work, 'home'));
  env = {
    HOME: path.join(work, 'home'),
    ...repo.settings,
    VAULTED_SSHD_KEYS_KEY: PASSPHRASE,
    SQUASHFS_COMPRESSION: 'zstd',
    REGISTRY_HOSTNAME: registry.host,
    REGISTRY_USERNAME: registry.username,
    REGISTRY_PASSWORD,
    ...pxeServerSettings(sshd, { user: PXE_USER, keyFile: uploadKey, dir: uploadDir }),
    UPLOAD_OWNER: 'www-data',
  };
  // The master's job: built, pushed, released live (its rootfs only).
  const master = await vauban(['-f', await fixtureBaseImage(), '-n', MASTER, '-i', 'no', '-l', 'no', 'pb_base.yml'], checkout('master'));
  expect(master.exitCode, tail(master)).toBe(0);
  liveBefore = live();
  // The same hosts on one machine, for the comparison; its vault gives every checkout the same sshd keys.
  const single = await vauban(['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web,db', '-i', 'no', '-u', 'no', 'pb_base.yml'], checkout('single'));
  expect(single.exitCode, tail(single)).toBe(0);
}, 900_000);

afterAll(async () => {
  // What the runs made or pulled on the second engine.
  await bash('for image in $(DOCKER_HOST="$2" docker image ls --format "{{.Repository}}:{{.Tag}}" | grep -F -- "$1"); do DOCKER_HOST="$2" docker image rm -f "$image" >/dev/null; done; DOCKER_HOST="$2" docker image prune -f >/dev/null', { args: [ID, ENGINE2] }).catch(() => undefined);
  await sshd?.stop();
  await registry?.stop();
  await pxeUser?.remove();
  await removeNewImages(imagesBefore);
  logs.remove();
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

describe('four shards at once over two engines, one of them failing, then promote (issue 29)', () => {
  let runs: Map<number, VaubanRun>;
  const engineOf = (index: number) => (working.indexOf(index) >= 1 && working.indexOf(index) <= 2 ? ENGINE2 : undefined);

  beforeAll(async () => {
    expect(working.length, 'three shards with hosts').toBe(3);
    // The second engine has no image of the master: it pulls it from the registry.
    expect((await bash('DOCKER_HOST="$2" docker image ls -q "$1"', { args: [MASTER, ENGINE2] })).trim()).toBe('');
    const all = [1, 2, 3, 4].map(async (index) => {
      const engine = engineOf(index);
      const extra = { ...(engine === undefined ? {} : { DOCKER_HOST: engine }), ...(index === failing ? { HOOK_PRE_ANSIBLE: 'echo "this shard fails on purpose" >&2; exit 3' } : {}) };
      return [index, await shardRun(index, extra)] as const;
    });
    runs = new Map(await Promise.all(all));
  }, 900_000);

  it('the shards that work built their own hosts only and staged them; the failing one uploaded nothing', () => {
    for (const index of [1, 2, 3, 4]) {
      const run = runs.get(index) as VaubanRun;
      if (index === failing) {
        expect(run.exitCode, tail(run)).not.toBe(0);
        continue;
      }
      expect(run.exitCode, tail(run)).toBe(0);
      for (const host of HOSTS) {
        if (hostsOf(index).includes(host)) expect(run.output, `${index}: ${host}`).toMatch(new RegExp(`\\[OK\\] ${host}\\b`));
        else expect(run.output, `${index}: ${host}`).not.toMatch(new RegExp(`\\[(OK|KO)\\] ${host}\\b`));
      }
      if (hostsOf(index).length === 0) expect(run.output).toMatch(/none of the 4 host\(s\) selected falls in this share: nothing to build/);
      else expect(run.output).toMatch(new RegExp(`shard ${index}/${SHARDS} of release ${RELEASE} staged`));
    }
    const shares = readdirSync(path.join(uploadDir, MASTER, 'releases', `.shares-${RELEASE}`)).sort();
    expect(shares).toEqual(working.filter((index) => index !== failing).flatMap((index) => [`${index}-of-${SHARDS}`, `${index}-of-${SHARDS}.json`]).sort());
  });

  it('the shards on the second engine pulled the master from the registry and built there (its image is there now)', async () => {
    expect((await bash('DOCKER_HOST="$2" docker image ls -q "$1"', { args: [MASTER, ENGINE2] })).trim()).not.toBe('');
    const local = (await sh('docker', ['image', 'inspect', '-f', '{{.Id}}', MASTER])).trim();
    const remote = (await bash('DOCKER_HOST="$2" docker image inspect -f "{{.Id}}" "$1"', { args: [MASTER, ENGINE2] })).trim();
    expect(remote).toBe(local);
    for (const index of working.filter((one) => engineOf(one) === ENGINE2 && one !== failing)) {
      const manifest = JSON.parse(readFileSync(path.join(uploadDir, MASTER, 'releases', `.shares-${RELEASE}`, `${index}-of-${SHARDS}.json`), 'utf8')) as { image: { id: string }; hosts: string[] };
      expect(manifest.image.id).toBe(local);
      expect(manifest.hosts).toEqual(hostsOf(index));
    }
  });

  it('promote refuses, naming the failed shard and its hosts; the live release is untouched', async () => {
    const run = await vauban(['promote', MASTER, RELEASE, '--shards', String(SHARDS)], checkout('promote'));
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toContain(`shard ${failing}/${SHARDS} has not uploaded (its hosts: ${hostsOf(failing).join(', ')})`);
    expect(run.output).toMatch(/nothing was switched/);
    expect(live()).toBe(liveBefore);
    expect(readdirSync(path.join(uploadDir, MASTER, 'releases'))).not.toContain(RELEASE);
  });

  it('the failed shard run again replaces nothing of the others; then promote makes one release of every share, live', async () => {
    const sharesDir = path.join(uploadDir, MASTER, 'releases', `.shares-${RELEASE}`);
    const others = working.filter((index) => index !== failing).map((index) => `${index}-of-${SHARDS}.json`);
    const othersBefore = others.map((file) => readFileSync(path.join(sharesDir, file), 'utf8'));
    const again = await shardRun(failing);
    expect(again.exitCode, tail(again)).toBe(0);
    expect(others.map((file) => readFileSync(path.join(sharesDir, file), 'utf8'))).toEqual(othersBefore);

    // What a promote cut after its staging (SIGKILL) leaves: the release complete but not live. Made again from the shares.
    mkdirSync(path.join(uploadDir, MASTER, 'releases', RELEASE));
    writeFileSync(path.join(uploadDir, MASTER, 'releases', RELEASE, 'left-by-a-cut-promote'), '');
    const promote = await vauban(['promote', MASTER, RELEASE, '--shards', String(SHARDS)], checkout('promote'));
    expect(promote.exitCode, tail(promote)).toBe(0);
    expect(readdirSync(path.join(uploadDir, MASTER, 'releases', RELEASE))).not.toContain('left-by-a-cut-promote');
    expect(live()).toBe(`releases/${RELEASE}`);
    expect(existsSync(sharesDir)).toBe(false);
    const release = path.join(uploadDir, MASTER, 'releases', RELEASE);
    const files = readdirSync(release).sort();
    for (const host of HOSTS) expect(files).toEqual(expect.arrayContaining([`conffs-${host}.tgz`, `${host}.ipxe`]));
    // The rootfs is the master job's, linked from the release that was live: the same file.
    expect(statSync(path.join(release, 'rootfs.tgz')).ino).toBe(statSync(path.join(uploadDir, MASTER, liveBefore, 'rootfs.tgz')).ino);
    // Every file is the one its SHA256SUMS names, and the boot entries pin them.
    await sh('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: release });
    const conffsSum = (await sh('sha256sum', [path.join(release, 'conffs-web01.tgz')])).split(' ')[0] as string;
    expect(readFileSync(path.join(release, 'web01.ipxe'), 'utf8')).toContain(conffsSum);
  });

  it('the release equals a single-machine build of the same hosts: the same members, the same contents', async () => {
    const single = path.join(work, 'single', 'overlayfs');
    const release = path.join(uploadDir, MASTER, 'releases', RELEASE);
    for (const host of HOSTS) {
      const folder = readdirSync(single).filter((name) => name.endsWith(`-overlayfs-${host}`)).sort().at(-1) as string;
      const ours = path.join(single, folder, `conffs-${host}.tgz`);
      const sharded = path.join(release, `conffs-${host}.tgz`);
      const list = await members(ours);
      expect(await members(sharded), host).toEqual(list);
      expect(list, host).toContain('./etc/hostname');
      // Files whose bytes depend on the run itself (the time of its build) are left out.
      for (const member of list.filter((one) => !/^\.\/(imginfo|var\/lib\/)/.test(one))) {
        expect((await content(sharded, member)).equals(await content(ours, member)), `${host} ${member}`).toBe(true);
      }
    }
  });
});

describe('the example .gitlab-ci.yml with staged=yes, run by gitlab-ci-local (a real evaluator of rules, parallel: and needs:)', () => {
  const CHILD = `${MASTER}-gl`;
  let project: string;
  let bare: string;
  let pipeline: { exitCode: number; output: string };

  beforeAll(async () => {
    // The operator's project: config.yml (the child of the master built above) and vault/, with the example pipeline.
    const seed = path.join(work, 'gl-seed');
    mkdirSync(path.join(seed, 'vault'), { recursive: true });
    writeFileSync(path.join(seed, 'vault', '.gitkeep'), '');
    // No stage of its own: the pipeline's wiring is what is proven here (the shards' contents are, above).
    writeFileSync(path.join(seed, 'config.yml'), `"debian-12-generic-amd64.raw":\n  name: ${MASTER}\n  ${CHILD}:\n    stages: []\n    conffs: "web,db"\n`);
    cpSync(fileURLToPath(new URL('../examples/.gitlab-ci.yml', import.meta.url)), path.join(seed, '.gitlab-ci.yml'));
    bare = path.join(work, 'gl-project.git');
    project = path.join(work, 'gl-project');
    await bash('git init -q -b master "$1" && git -C "$1" add -A && git -C "$1" -c user.name=t -c user.email=t@t commit -q -m seed && git clone -q --bare "$1" "$2" && git clone -q "$2" "$3" && git -C "$3" remote set-url origin https://gitlab.example.com/ops/fleet.git', { args: [seed, bare, project] });
    const bin = path.join(work, 'gl-bin');
    mkdirSync(bin);
    for (const command of ['vauban', 'vauban-ci']) await sh('ln', ['-s', fileURLToPath(new URL(`../bin/${command}.js`, import.meta.url)), path.join(bin, command)]);
    const secrets = Object.entries({ ...env, HOME: undefined, GITLAB_USER_NAME: undefined }).filter(([, value]) => value !== undefined).map(([key, value]) => `export ${key}='${value ?? ''}'`).join('\n');
    const glcl = fileURLToPath(new URL('../node_modules/.bin/gitlab-ci-local', import.meta.url));
    const result = await execa(glcl, ['--shell-isolation', '--variable', 'CI_PIPELINE_SOURCE=web', '--variable', `name=${CHILD}`, '--variable', 'staged=yes', '--variable', 'initramfs=no'], {
      cwd: project,
      // What the runner's environment gives every job (gitlab-ci-local lets it win over the jobs' variables).
      env: {
        PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
        HOME: path.join(work, 'home'),
        DOT_SECRETS_ENV: Buffer.from(secrets).toString('base64'),
        CI_REPOSITORY_URL: `file://${bare}`,
        GITLAB_USER_NAME: 'CI Bot',
        GITLAB_USER_EMAIL: 'ci@vauban.invalid',
        GIT_TOKEN_USERNAME: 'vauban-ci',
        GIT_TOKEN_PASSWORD: `git-token-${ID}`,
      },
      extendEnv: false,
      reject: false,
      all: true,
      stdin: 'ignore',
    });
    pipeline = { exitCode: result.exitCode ?? -1, output: String(result.all ?? '') };
    writeFileSync(log, `\n$ gitlab-ci-local (staged pipeline)\n${pipeline.output}\n[exit ${pipeline.exitCode}]\n`, { flag: 'a' });
  }, 1_200_000);

  it('ran rootfs, the four conffs shards and promote, in that order, and every job passed', () => {
    expect(pipeline.exitCode, pipeline.output.slice(-4000)).toBe(0);
    const passed = [...pipeline.output.matchAll(/PASS\s+(\S+(?: \[\d\/\d\])?)/g)].map((match) => match[1]);
    expect(passed.sort()).toEqual(['conffs-shards: [1/4]', 'conffs-shards: [2/4]', 'conffs-shards: [3/4]', 'conffs-shards: [4/4]', 'promote', 'rootfs'].sort());
    expect(pipeline.output).not.toMatch(/^\s*(initramfs|conffs|version-control)\s+starting/m);
    const shardsFinished = Math.max(...[...pipeline.output.matchAll(/^conffs-shards: \[\d\/4\]\s+finished/gm)].map((match) => match.index));
    expect(shardsFinished).toBeGreaterThan(0);
    expect(pipeline.output.search(/^promote\s+starting/m)).toBeGreaterThan(shardsFinished);
  });

  it('made one release of the rootfs and every host live, named after the pipeline', () => {
    const current = readlinkSync(path.join(uploadDir, CHILD, 'current'));
    expect(current).toMatch(/^releases\/\d{8}T\d{6}Z-p\d+$/);
    const files = readdirSync(path.join(uploadDir, CHILD, current)).sort();
    expect(files).toEqual(expect.arrayContaining(['rootfs.tgz', 'SHA256SUMS', ...HOSTS.flatMap((host) => [`conffs-${host}.tgz`, `${host}.ipxe`])]));
    expect(readdirSync(path.join(uploadDir, CHILD, 'releases')).filter((name) => name.startsWith('.'))).toEqual([]);
    // One release only: nothing was made live before the promote.
    expect(readdirSync(path.join(uploadDir, CHILD, 'releases'))).toEqual([current.replace('releases/', '')]);
  });

  it('every shard pushed its hosts\' vault entries back, whatever the order', async () => {
    const entries = (await sh('git', ['--git-dir', bare, 'ls-tree', '--name-only', 'master', 'vault/'])).split('\n').sort();
    expect(entries).toEqual(expect.arrayContaining([`vault/${CHILD}.tar.gpg`, ...HOSTS.map((host) => `vault/${host}.tar.gpg`)]));
  });
});

describe('a rootfs built through a remote engine whose files are out of reach (issue 29, item 4)', () => {
  /** Every entry of a squashfs: type, mode, owner, link target, and the sha256 of each file's bytes. */
  async function squashfsManifest(tarball: string, into: string): Promise<string> {
    mkdirSync(into, { recursive: true });
    await sh('tar', ['-xf', tarball, '-C', into]);
    await sh('unsquashfs', ['-q', '-n', '-d', path.join(into, 'root'), path.join(into, 'rootfs.img')]);
    // /imginfo names the SBOM's sha256, which differs from one build to the next (its timestamp, its serial number).
    return bash('cd "$1" && sed -i "/^sbom-sha256:/d" imginfo && find . -printf "%y %m %U:%G %p -> %l\\n" | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum', { args: [path.join(into, 'root')] });
  }

  // The second engine behind an ssh:// address, as an operator's build server is: a private sshd whose sessions talk
  // to engine 2 (SetEnv DOCKER_HOST), and the operator's ssh configuration (a wrapper giving ssh its -F: ssh reads
  // the passwd entry's home, not $HOME) with that server's host key known.
  let engineSshd: TestSshd | undefined;
  let sshPath = '';
  let knownHosts = '';
  beforeAll(async () => {
    const dir = path.join(work, 'engine-ssh');
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    const key = path.join(dir, 'id');
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-engine-ssh', '-f', key]);
    engineSshd = await startSshd(path.join(dir, 'sshd'), [readFileSync(`${key}.pub`, 'utf8').trim()], { config: [`SetEnv DOCKER_HOST=${ENGINE2}`] });
    knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${engineSshd.port} ${engineSshd.hostKeyPublic}\n`);
    writeFileSync(path.join(dir, 'config'), `Host 127.0.0.1\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n  StrictHostKeyChecking yes\n`);
    const realSsh = (await sh('sh', ['-c', 'command -v ssh'])).trim();
    writeFileSync(path.join(dir, 'bin', 'ssh'), `#!/bin/sh\nexec ${realSsh} -F ${path.join(dir, 'config')} "$@"\n`, { mode: 0o755 });
    sshPath = `${path.join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  });
  afterAll(async () => {
    await engineSshd?.stop();
  });

  it('over ssh:// (the system\'s ssh, docker system dial-stdio): reads the image through the Engine API (docker save), says so, and makes the same rootfs.img as the local read', async () => {
    const cwd = checkout('master');
    const local = path.join(work, 'rootfs-local.tgz');
    cpSync(path.join(cwd, 'rootfs.tgz'), local);
    // The engine's data root is in a mount namespace of its own: its layer folders are not on this machine.
    const root = (await bash('DOCKER_HOST="$1" docker info --format "{{.DockerRootDir}}"', { args: [ENGINE2] })).trim();
    expect(readdirSync(root)).toEqual([]);
    const run = await vauban(['-s', MASTER, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--no-cache'], cwd, { DOCKER_HOST: `ssh://root@127.0.0.1:${engineSshd?.port ?? 0}`, PATH: sshPath });
    expect(run.exitCode, tail(run)).toBe(0);
    expect(run.output).toMatch(/build_rootfs: .* \(through the Engine API \(docker save\): its layer folders are not on this machine/);
    const [ours, theirs] = [await squashfsManifest(local, path.join(work, 'cmp-local')), await squashfsManifest(path.join(cwd, 'rootfs.tgz'), path.join(work, 'cmp-remote'))];
    expect(ours.split('\n').length).toBeGreaterThan(1000);
    expect(theirs).toBe(ours);
  });

  it('over ssh://, an engine whose host key is not the one known is refused by ssh, and said', async () => {
    const cwd = checkout('master');
    const known = readFileSync(knownHosts, 'utf8');
    // Another key for that address: what a man in the middle would present.
    const other = path.join(work, 'engine-ssh', 'other-host-key');
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    writeFileSync(knownHosts, `[127.0.0.1]:${engineSshd?.port ?? 0} ${readFileSync(`${other}.pub`, 'utf8').trim()}\n`);
    try {
      const run = await vauban(['-s', MASTER, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--dry-run'], cwd, { DOCKER_HOST: `ssh://root@127.0.0.1:${engineSshd?.port ?? 0}`, PATH: sshPath });
      expect(run.output).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
      expect(run.output).toMatch(/not looked up: dockerd does not answer/);
    } finally {
      writeFileSync(knownHosts, known);
    }
  });
});

describe('the engine named by a docker context, as the docker CLI names it (issue 29, item 4)', () => {
  it('DOCKER_CONTEXT (or `docker context use`) reaches the second engine: the dry run reads its files through the API and finds its images; an unknown context is named', async () => {
    const cwd = checkout('master');
    const config = path.join(work, 'docker-config');
    mkdirSync(config, { recursive: true });
    // Made by the real docker CLI: its layout of contexts is what vauban reads.
    await sh('docker', ['context', 'create', 'vauban-test-engine2', '--docker', `host=${ENGINE2}`], { env: { DOCKER_CONFIG: config } });
    const dry = (extra: Record<string, string>) => vauban(['-s', MASTER, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--dry-run'], cwd, { DOCKER_CONFIG: config, ...extra });
    const named = await dry({ DOCKER_CONTEXT: 'vauban-test-engine2' });
    expect(named.exitCode, tail(named)).toBe(0);
    expect(named.output).toContain("through the Engine API (docker save: the engine's files are not on this machine)");
    await sh('docker', ['context', 'use', 'vauban-test-engine2'], { env: { DOCKER_CONFIG: config } });
    const current = await dry({});
    expect(current.output).toContain("through the Engine API (docker save: the engine's files are not on this machine)");
    // The same command on the local engine, for contrast: its files are here.
    const local = await dry({ DOCKER_CONTEXT: 'default' });
    expect(local.output).toContain("its layer folders read in place (the engine's files are on this machine)");
    const unknown = await dry({ DOCKER_CONTEXT: 'vauban-test-nowhere' });
    expect(unknown.output).toMatch(/docker context "vauban-test-nowhere" does not exist/);
  });
});

describe('a shard without its master in the registry', () => {
  it('stops at once, naming the job that should have pushed it', async () => {
    const missing = `master-${ID}-nothere`;
    const run = await vauban(['-s', missing, '-n', missing, '-a', 'web', '--shard', '1/2', '--release', RELEASE, 'pb_base.yml'], checkout('missing'));
    expect(run.exitCode).toBe(1);
    expect(run.output).toMatch(new RegExp(`${missing} is neither here nor in the registry`));
    expect(run.output).toMatch(/a shard builds on the master its own job pushed to the registry/);
    writeFileSync(path.join(work, 'done'), '');
  });
});
