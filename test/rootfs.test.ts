// Issue 3: a two-level master tree built for real from the fixture raw image
// (base master, then a child with -s and a branch@playbook stage), the
// failing playbook (the --debian-release path is the demo's: setup-commands.test), on real dockerd, loop
// devices, mounts, ansible and mksquashfs. The Ansible repository is served
// over ssh by a private sshd and fetched with a deploy key, which must reach
// no image layer, history entry, or rootfs.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBaseImage, makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { filesContaining, imageIds, layerDirs, removeNewImages } from './helpers/images.js';
import { makeMiniImage } from './helpers/mini-image.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { startSshd, type TestSshd } from './helpers/sshd.js';
import { runVauban, tail } from './helpers/vauban.js';

const PASSPHRASE = 'vault-passphrase-rootfs-test';
const BASE = uniqueName('master-itest-base').toLowerCase();
const CHILD = uniqueName('master-itest-web').toLowerCase();

let work: string;
let cwd: string;
let log: string;
let baseImage: string;
let repo: AnsibleRepo;
let sshd: TestSshd;
let deployKey: string;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let foreignLoop: string;
let rawSha: string;

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The lines of the deploy key that only this key has: the first base64 line of
 * every OpenSSH ed25519 key is the same format header, so it is left out.
 */
function deployKeyLines(): string[] {
  const body = readFileSync(deployKey, 'utf8').split('\n').filter((line) => line && !line.startsWith('-----'));
  const unique = body.slice(1).filter((line) => line.length > 40);
  expect(unique.length).toBeGreaterThan(0);
  return unique;
}

function vauban(args: string[], extraEnv: Record<string, string> = {}) {
  return runVauban('vauban', args, { cwd, env: { ...env, ...extraEnv }, log });
}

/** Unpacks rootfs.tgz's rootfs.img into a folder and returns it. */
async function unpackRootfs(tarball: string, name: string): Promise<string> {
  const dir = path.join(work, `unpacked-${name}`);
  mkdirSync(dir);
  await sh('tar', ['-xf', tarball, '-C', dir]);
  expect(readdirSync(dir)).toEqual(['rootfs.img']);
  await sh('unsquashfs', ['-q', '-n', '-d', path.join(dir, 'root'), path.join(dir, 'rootfs.img')]);
  return path.join(dir, 'root');
}

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  work = mkdtempSync('/var/tmp/vauban-itest-rootfs-');
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  log = path.join(work, 'vauban.log');
  baseImage = await fixtureBaseImage();
  rawSha = await sha256(baseImage);
  repo = await makeAnsibleRepo(work);
  // The read-only deploy key, and a private sshd that accepts only it.
  deployKey = path.join(cwd, 'ansible-ro');
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-deploy', '-f', deployKey]);
  sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${deployKey}.pub`, 'utf8').trim()]);
  const home = path.join(work, 'home');
  mkdirSync(home);
  env = {
    HOME: home,
    ...repo.settings,
    ANSIBLE_REPO: `ssh://root@127.0.0.1:${sshd.port}${repo.bare}`,
    ANSIBLE_REPO_KNOWN_HOSTS: `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}`,
    VAULTED_SSHD_KEYS_KEY: PASSPHRASE,
  };
  // Someone else's loop device: vauban must leave it attached.
  const foreignFile = path.join(work, 'foreign.img');
  await sh('truncate', ['-s', '8M', foreignFile]);
  foreignLoop = (await sh('losetup', ['--find', '--show', foreignFile])).trim();
}, 600_000);

afterAll(async () => {
  await sshd?.stop();
  if (foreignLoop) await sh('losetup', ['--detach', foreignLoop]).catch(() => undefined);
  await removeNewImages(imagesBefore);
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
  expect(await readHostState()).toEqual(before);
});

describe('rootfs of a two-level tree from the fixture raw image', () => {
  it('builds the base master from the raw image with the deploy key over ssh', async () => {
    const run = await vauban(['-f', baseImage, '-n', BASE, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml']);
    expect(run.exitCode, tail(run)).toBe(0);
    // Ansible's output streamed as it ran.
    expect(run.output).toMatch(/TASK \[Install the fixture package\]/);
    expect(existsSync(path.join(cwd, 'rootfs.tgz'))).toBe(true);
    expect(existsSync(path.join(cwd, 'vault', `${BASE}.tar.gpg`))).toBe(true);
    rmSync(path.join(cwd, 'rootfs.tgz'));
    // While it ran, someone else's loop device stayed attached.
    expect((await sh('losetup', ['--list', '--noheadings', '--output', 'NAME'])).split('\n').map((line) => line.trim())).toContain(foreignLoop);
  });

  // zstd: xz, the default, takes over a minute on this full tree (2 cores); it is checked on a tiny image below.
  it('builds the child with -s, a branch@playbook stage, hooks and extra args', async () => {
    const run = await vauban(['-s', BASE, '-n', CHILD, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'feature@pb_web.yml'], {
      HOOK_PRE_ANSIBLE: 'touch /etc/vauban-hook-pre',
      HOOK_POST_ANSIBLE: 'echo "post $HOSTNAME" > /etc/vauban-hook-post',
      ANSIBLE_EXTRA_ARGS: '-e "http_port=9999"',
    });
    expect(run.exitCode, tail(run)).toBe(0);
    expect(run.output).toMatch(/pb_web\.yml from branch feature/);
  });

  describe('the child rootfs.img', () => {
    let root: string;
    beforeAll(async () => {
      root = await unpackRootfs(path.join(cwd, 'rootfs.tgz'), 'child');
    }, 600_000);

    it('is a squashfs compressed as asked (--compression zstd)', async () => {
      const info = await sh('unsquashfs', ['-s', path.join(work, 'unpacked-child', 'rootfs.img')]);
      expect(info).toMatch(/Compression zstd/);
    });

    it('carries the effects of both playbooks, the hooks and the extra args', () => {
      expect(existsSync(path.join(root, 'usr/bin/tree'))).toBe(true);
      expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).toMatch(/^ops:/m);
      expect(readFileSync(path.join(root, 'etc/vauban-fixture'), 'utf8')).toContain(`host=${BASE}`);
      expect(readFileSync(path.join(root, 'etc/vauban-web.conf'), 'utf8')).toBe(`listen 9999 on ${CHILD}\n`);
      expect(existsSync(path.join(root, 'etc/vauban-hook-pre'))).toBe(true);
      expect(readFileSync(path.join(root, 'etc/vauban-hook-post'), 'utf8')).toBe(`post ${CHILD}\n`);
      expect(readFileSync(path.join(root, 'etc/hostname'), 'utf8')).toBe(`${CHILD}\n`);
    });

    it('has /imginfo as YAML listing both stages with their git sha and branch', () => {
      const imginfo = yaml.load(readFileSync(path.join(root, 'imginfo'), 'utf8')) as {
        iso: string;
        date: string;
        stages: Array<Record<string, string>>;
      };
      expect(imginfo.iso).toBe('debian-12-generic-amd64.raw');
      expect(imginfo.stages).toHaveLength(2);
      expect(imginfo.stages[0]).toMatchObject({ playbook: 'pb_base.yml', hostname: BASE, 'git-sha1': repo.shas.master, 'git-branch': 'master' });
      expect(imginfo.stages[0]?.source).toMatch(/^debian-12\.\d+\/iso$/);
      expect(imginfo.stages[1]).toMatchObject({ playbook: 'pb_web.yml', hostname: CHILD, source: BASE, 'git-sha1': repo.shas.feature, 'git-branch': 'feature' });
      for (const stage of imginfo.stages) expect(Number.isNaN(Date.parse(stage.date ?? ''))).toBe(false);
    });

    it('has /packages as YAML showing the installed package as +', () => {
      const packages = yaml.load(readFileSync(path.join(root, 'packages'), 'utf8')) as { packages: Array<Record<string, string>> };
      expect(packages.packages.map((entry) => entry.playbook)).toEqual(['pb_base.yml', 'pb_web.yml']);
      expect(packages.packages[0]?.packages).toMatch(/^\+ tree\//m);
      expect(packages.packages[1]?.packages ?? '').not.toMatch(/^\+ tree\//m);
    });

    it('has the sshd keys of the vault (decrypted by the gpg binary), private 0600, public 0644', async () => {
      const gnupg = path.join(work, 'gnupg');
      mkdirSync(gnupg, { mode: 0o700, recursive: true });
      writeFileSync(path.join(work, 'pass'), PASSPHRASE);
      const out = path.join(work, 'vault-out');
      mkdirSync(out);
      await bash('gpg --batch --quiet --homedir "$1" --pinentry-mode loopback --passphrase-fd 0 -d "$2" < "$3" | tar -x -C "$4"', {
        args: [gnupg, path.join(cwd, 'vault', `${CHILD}.tar.gpg`), path.join(work, 'pass'), out],
      });
      const names = readdirSync(path.join(out, CHILD, 'etc/ssh')).sort();
      expect(names).toContain('ssh_host_ed25519_key');
      for (const name of names) {
        expect(readFileSync(path.join(root, 'etc/ssh', name)), name).toEqual(readFileSync(path.join(out, CHILD, 'etc/ssh', name)));
        const mode = (await sh('stat', ['-c', '%a', path.join(root, 'etc/ssh', name)])).trim();
        expect(mode, name).toBe(name.endsWith('.pub') ? '644' : '600');
      }
    });

    it('has its CycloneDX SBOM beside rootfs.tgz: every installed package with its purl, both stages with repository, branch and commit (issue 15)', async () => {
      const text = readFileSync(path.join(cwd, 'sbom.cdx.json'), 'utf8');
      const CDX = await import('@cyclonedx/cyclonedx-library');
      expect(await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(text)).toBeNull();
      const bom = JSON.parse(text) as { components: Array<{ type: string; name: string; version: string; purl?: string; externalReferences?: Array<{ type: string; url: string }> }> };
      const installed = (await sh('dpkg-query', [`--admindir=${path.join(root, 'var/lib/dpkg')}`, '-W', '-f', '${db:Status-Status} ${Package}\n'])).split('\n').filter((line) => line.startsWith('installed ')).length;
      expect(bom.components.filter((component) => component.type === 'library')).toHaveLength(installed);
      const tree = bom.components.find((component) => component.name === 'tree');
      expect(tree?.purl).toMatch(/^pkg:deb\/debian\/tree@[^?]+\?arch=amd64&distro=debian-12\.\d+$/);
      const stages = bom.components.filter((component) => component.type === 'file');
      expect(stages.map((stage) => [stage.name, stage.version])).toEqual([['pb_base.yml', repo.shas.master], ['pb_web.yml', repo.shas.feature]]);
      for (const stage of stages) expect(stage.externalReferences).toEqual([expect.objectContaining({ type: 'vcs', url: env.ANSIBLE_REPO })]);
      const imginfo = yaml.load(readFileSync(path.join(root, 'imginfo'), 'utf8')) as { 'sbom-sha256': string };
      expect(imginfo['sbom-sha256']).toBe(await sha256(path.join(cwd, 'sbom.cdx.json')));
    });

    it('has no Ansible tree, no initrd, resolv.conf linked to resolvconf, and no byte of the deploy key', async () => {
      expect(existsSync(path.join(root, 'root/ansible'))).toBe(false);
      expect(readdirSync(path.join(root, 'boot')).filter((name) => name.startsWith('initrd'))).toEqual([]);
      expect(await sh('readlink', [path.join(root, 'etc/resolv.conf')])).toBe('../run/resolvconf/resolv.conf');
      const keyLines = deployKeyLines();
      for (const line of keyLines) expect(await filesContaining([root], line)).toEqual([]);
    });
  });

  it('left the operator raw image unchanged, and no loop device, mount or container behind', async () => {
    expect(await sha256(baseImage)).toBe(rawSha);
    const now = await readHostState();
    expect(now.mounts).toEqual(before.mounts);
    expect(now.containers).toEqual(before.containers);
    expect(now.loops.filter((line) => !line.startsWith(`${foreignLoop} `))).toEqual(before.loops);
    expect(now.loops.some((line) => line.startsWith(`${foreignLoop} `))).toBe(true);
    expect(now.workFolders).toEqual(before.workFolders);
  });

  it('put no byte of the deploy key in any image history or layer', async () => {
    const imginfo = yaml.load(await sh('docker', ['run', '--rm', BASE, 'cat', '/imginfo'])) as { stages: Array<{ source: string }> };
    const prefix = imginfo.stages[0]?.source.replace(/\/iso$/, '');
    expect(prefix).toMatch(/^debian-12\.\d+$/);
    const images = [`${prefix}/raw-iso`, `${prefix}/iso`, `${prefix}/pb_base.yml`, BASE, `${BASE}/pb_web.yml`, CHILD];
    const keyLines = deployKeyLines();
    const dirs = new Set<string>();
    for (const image of images) {
      const history = await sh('docker', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', image]);
      // An imported image has an empty history line; built ones list their steps.
      if (!image.endsWith('/raw-iso')) expect(history).toMatch(/ansible|COPY|ARG/);
      for (const line of keyLines) expect(history.includes(line), `history of ${image}`).toBe(false);
      expect(history).not.toContain('PRIVATE KEY');
      const inspect = await sh('docker', ['image', 'inspect', image]);
      for (const line of keyLines) expect(inspect.includes(line), `metadata of ${image}`).toBe(false);
      for (const dir of await layerDirs(image)) dirs.add(dir);
    }
    expect(dirs.size).toBeGreaterThan(5);
    for (const line of keyLines) expect(await filesContaining([...dirs], line)).toEqual([]);
  });
});

describe('other paths', () => {
  it('without --compression, rootfs.img is a squashfs compressed with xz (the default)', async () => {
    // A tiny image (the host's sh, tar... and their libraries): the same build_rootfs and mksquashfs, in seconds.
    const mini = uniqueName('vauban-itest-rootfs/mini').toLowerCase();
    await makeMiniImage(mini, work);
    const name = uniqueName('master-itest-xz').toLowerCase();
    const run = await vauban(['-s', mini, '-n', name, '-i', 'no', '-l', 'no', '-u', 'no']);
    expect(run.exitCode, tail(run)).toBe(0);
    expect(run.output).toMatch(/mksquashfs \(xz\)/);
    const unpacked = path.join(work, 'unpacked-xz');
    mkdirSync(unpacked);
    await sh('tar', ['-xf', path.join(cwd, 'rootfs.tgz'), '-C', unpacked]);
    expect(await sh('unsquashfs', ['-s', path.join(unpacked, 'rootfs.img')])).toMatch(/Compression xz/);
  });

  it('a failing playbook: non-zero exit, the stage named, nothing left mounted', async () => {
    const name = uniqueName('master-itest-broken').toLowerCase();
    const run = await vauban(['-s', BASE, '-n', name, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_broken.yml']);
    expect(run.exitCode).not.toBe(0);
    expect(run.output).toMatch(/stage pb_broken\.yml \(branch master\) failed for master-itest-broken/);
    expect(run.output).toMatch(/Result: FAILED/);
    const now = await readHostState();
    expect(now.mounts).toEqual(before.mounts);
    expect(now.containers).toEqual(before.containers);
  });
});
