// Issue 12: incremental builds on real components. A master of two stages
// (one on branch master, one on branch feature) is built from the fixture raw
// image, then built again: unchanged, every image is reused (same ids) and the
// recap says so; after a commit on feature, exactly the stage of that branch
// and the images below it are rebuilt, naming the move; --no-cache and an
// expired maximum age rebuild; a tampered rootfs.tgz is rebuilt. A host's
// conffs follows its own variables only, until a play reads other hosts.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../src/model/shard.js';
import { fixtureBaseImage, makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { watchConffsLogs, type LogWatch } from './helpers/logs.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { sh, uniqueName } from './helpers/sh.js';
import { pxeServerSettings, startSshd, type TestSshd } from './helpers/sshd.js';
import { runVauban, tail, type VaubanRun } from './helpers/vauban.js';

const PASSPHRASE = 'vault-passphrase-incremental-test';
const MASTER = uniqueName('master-itest-incr').toLowerCase();

let work: string;
let cwd: string;
let log: string;
let baseImage: string;
let repo: AnsibleRepo;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let prefix: string;
let logs: LogWatch;

function vauban(args: string[], extraEnv: Record<string, string> = {}): Promise<VaubanRun> {
  return runVauban('vauban', args, { cwd, env: { ...env, ...extraEnv }, log });
}

const BUILD = () => ['-f', baseImage, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml', 'feature@pb_web.yml'];

async function sha256(file: string): Promise<string> {
  return (await sh('sha256sum', [file])).split(' ')[0] as string;
}

async function idOf(image: string): Promise<string> {
  return (await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).trim();
}

/** The ids of the master's chain, by name. */
async function chainIds(): Promise<Record<string, string>> {
  const names = [`${prefix}/raw-iso`, `${prefix}/iso`, `${prefix}/pb_base.yml`, `${prefix}/pb_web.yml`, MASTER];
  const ids: Record<string, string> = {};
  for (const name of names) ids[name] = await idOf(name);
  return ids;
}

/** The recap's "Reused or built" lines: `reuse|build <name>: <reason>`, by name. */
function decisions(run: VaubanRun): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of run.output.matchAll(/^(?:\S+Z)?\s+(reuse|build) (?:image|artifact|conffs) (\S+): (.*?)(?: \([0-9a-f]{12}\))?$/gm)) {
    found[match[2] as string] = `${match[1]}: ${match[3]}`;
  }
  return found;
}

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  logs = watchConffsLogs();
  work = mkdtempSync('/var/tmp/vauban-itest-incr-');
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  log = path.join(work, 'vauban.log');
  baseImage = await fixtureBaseImage();
  repo = await makeAnsibleRepo(work);
  mkdirSync(path.join(work, 'home'));
  env = { HOME: path.join(work, 'home'), ...repo.settings, VAULTED_SSHD_KEYS_KEY: PASSPHRASE };
}, 600_000);

afterAll(async () => {
  await removeNewImages(imagesBefore);
  logs.remove();
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
  expect(await readHostState()).toEqual(before);
});

describe('incremental builds', () => {
  let first: Record<string, string>;
  const timings: Record<string, number> = {};

  it('a first build labels every image with the digest of its inputs', async () => {
    const started = Date.now();
    const run = await vauban(BUILD());
    timings.full = (Date.now() - started) / 1000;
    expect(run.exitCode, tail(run)).toBe(0);
    // The base images come from the suite's shared build (test/helpers/shared-base.ts): reused by their inputs.
    prefix = /\s(?:build|reuse) image (debian-[\d.]+)\/raw-iso: /.exec(run.output)?.[1] ?? '';
    expect(prefix, tail(run)).toMatch(/^debian-12/);
    first = await chainIds();
    const said = decisions(run);
    for (const name of Object.keys(first).slice(0, 4)) {
      const labels = JSON.parse(await sh('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', name])) as Record<string, string>;
      expect(labels['vauban.inputs'], name).toMatch(/^sha256:[0-9a-f]{64}$/);
      // Built by this run, or by an earlier one whose build this run reused.
      if (said[name]?.startsWith('build: ') === true) expect(Date.parse(labels['vauban.built'] ?? '')).toBeGreaterThan(started - 1000);
      else expect(said[name], name).toMatch(/^reuse: inputs unchanged \(built /);
    }
    expect(said[`${prefix}/pb_base.yml`]).toMatch(/^build: /);
    expect(said[`${prefix}/pb_web.yml`]).toBe('build: parent rebuilt');
  });

  it('an unchanged rebuild reuses every image (same ids), mounts nothing and says so', async () => {
    const started = Date.now();
    const run = await vauban(BUILD());
    timings.unchanged = (Date.now() - started) / 1000;
    expect(run.exitCode, tail(run)).toBe(0);
    expect(await chainIds()).toEqual(first);
    const said = decisions(run);
    for (const name of Object.keys(first)) expect(said[name], `${name}\n${tail(run, 60)}`).toMatch(/^reuse: /);
    expect(said[`${prefix}/pb_base.yml`]).toMatch(/^reuse: inputs unchanged \(built /);
    expect(said['rootfs.tgz']).toMatch(/^reuse: inputs unchanged/);
    // The raw-iso was reused: the base file was not even mounted.
    expect(run.output).not.toMatch(/mount_iso/);
    expect(run.output).not.toMatch(/TASK \[/);
  });

  it('the dry run of a conffs run from the base file resolves its hosts in the base image it will reuse, and decides each', async () => {
    const args = ['-f', baseImage, '-n', MASTER, '-i', 'no', '-l', 'yes', '-a', 'web01,web02', '-u', 'no', '--compression', 'zstd', 'pb_base.yml', 'feature@pb_web.yml', '--dry-run', '--json'];
    const dry = await vauban(args);
    expect(dry.exitCode, tail(dry)).toBe(0);
    const document = JSON.parse(dry.output.slice(dry.output.indexOf('{'))) as {
      plan: { prefix: string; conffs: { hosts: string[] }; artifacts: string[] };
      cache: { entries: Array<{ kind: string; name: string; action: string; reason: string }> };
    };
    expect(document.plan.prefix).toBe(prefix);
    expect(document.plan.conffs.hosts).toEqual(['web01', 'web02']);
    expect(document.plan.artifacts).toContain('overlayfs/overlayfs-web02/conffs-web02.tgz');
    expect(document.cache.entries.filter((entry) => entry.kind === 'conffs')).toEqual(
      ['web01', 'web02'].map((host) => ({ kind: 'conffs', name: host, action: 'build', reason: 'no earlier build recorded' })),
    );
    // Nothing of it kept in the project.
    expect(existsSync(path.join(cwd, 'overlayfs'))).toBe(false);
    for (const host of ['web01', 'web02']) expect(existsSync(path.join(cwd, 'vault', `${host}.tar.gpg`))).toBe(false);
  });

  it('a commit on branch feature rebuilds exactly its stage and the images below, naming the move', async () => {
    const clone = path.join(work, 'clone');
    await sh('git', ['clone', '-q', '-b', 'feature', repo.bare, clone]);
    appendFileSync(path.join(clone, 'pb_web.yml'), '    - name: One more line\n      ansible.builtin.command: "true"\n      changed_when: false\n');
    const git = (...args: string[]) => sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: clone });
    await git('commit', '-q', '-am', 'one more task');
    await git('push', '-q', 'origin', 'feature');
    const moved = (await git('rev-parse', 'HEAD')).trim();

    // The dry run says beforehand what the run then does, with the OS name read from the reusable base.
    const dry = await vauban([...BUILD(), '--dry-run', '--json']);
    expect(dry.exitCode, tail(dry)).toBe(0);
    const document = JSON.parse(dry.output.slice(dry.output.indexOf('{'))) as { plan: { prefix: string }; cache: { entries: Array<{ name: string; action: string; reason: string }> } };
    expect(document.plan.prefix).toBe(prefix);
    const predicted = Object.fromEntries(document.cache.entries.map((entry) => [entry.name, `${entry.action}: ${entry.reason}`]));
    const text = await vauban([...BUILD(), '--dry-run']);
    expect(text.output).toMatch(new RegExp(`Reuse or build:\\n  reuse   image ${prefix}/raw-iso: inputs unchanged`));

    const started = Date.now();
    const run = await vauban(BUILD());
    timings.leaf = (Date.now() - started) / 1000;
    expect(run.exitCode, tail(run)).toBe(0);
    const now = await chainIds();
    const said = decisions(run);
    for (const name of [`${prefix}/raw-iso`, `${prefix}/iso`, `${prefix}/pb_base.yml`]) {
      expect(now[name], name).toBe(first[name]);
      expect(said[name], name).toMatch(/^reuse: /);
    }
    for (const name of [`${prefix}/pb_web.yml`, MASTER]) expect(now[name], name).not.toBe(first[name]);
    expect(said[`${prefix}/pb_web.yml`]).toBe('build: branch feature: its files changed (not only its inventory)');
    expect(run.output).toContain(moved.slice(0, 10));
    expect(run.output).toMatch(/TASK \[One more line\]/);
    expect(said).toEqual(predicted);
    first = now;
    console.log(`incremental: full ${timings.full?.toFixed(0)} s, unchanged ${timings.unchanged?.toFixed(0)} s, one leaf ${timings.leaf?.toFixed(0)} s`);
  });

  it('--no-cache rebuilds the stages, saying so', async () => {
    const run = await vauban(['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '-r', 'yes', '--compression', 'zstd', '--no-cache', 'feature@pb_web.yml']);
    expect(run.exitCode, tail(run)).toBe(0);
    expect(decisions(run)[`${prefix}/pb_web.yml`]).toBe('build: --no-cache');
    expect(await idOf(`${prefix}/pb_web.yml`)).not.toBe(first[`${prefix}/pb_web.yml`]);
  });

  it('an expired maximum age (CACHE_MAX_AGE_DAYS=0) rebuilds, saying so; the default reuses', async () => {
    const args = ['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'feature@pb_web.yml'];
    const reused = await vauban(args);
    expect(reused.exitCode, tail(reused)).toBe(0);
    expect(decisions(reused)[`${prefix}/pb_web.yml`]).toMatch(/^reuse: inputs unchanged/);
    const id = await idOf(`${prefix}/pb_web.yml`);
    const run = await vauban(args, { CACHE_MAX_AGE_DAYS: '0' });
    expect(run.exitCode, tail(run)).toBe(0);
    expect(decisions(run)[`${prefix}/pb_web.yml`]).toMatch(/^build: older than 0 days \(built /);
    expect(await idOf(`${prefix}/pb_web.yml`)).not.toBe(id);
  });

  it('a tampered rootfs.tgz is rebuilt, not reused', async () => {
    const args = ['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'feature@pb_web.yml'];
    const tarball = path.join(cwd, 'rootfs.tgz');
    const reused = await vauban(args);
    expect(reused.exitCode, tail(reused)).toBe(0);
    expect(decisions(reused)['rootfs.tgz']).toMatch(/^reuse: inputs unchanged/);
    const record = JSON.parse(readFileSync(`${tarball}.inputs.json`, 'utf8')) as { sha256: string };
    expect(await sha256(tarball)).toBe(record.sha256);
    appendFileSync(tarball, 'tampered');
    const run = await vauban(args);
    expect(run.exitCode, tail(run)).toBe(0);
    expect(decisions(run)['rootfs.tgz']).toBe('build: rootfs.tgz on disk does not match its recorded sha256');
    expect(run.output).toMatch(/mksquashfs/);
    const rebuilt = JSON.parse(readFileSync(`${tarball}.inputs.json`, 'utf8')) as { sha256: string };
    expect(await sha256(tarball)).toBe(rebuilt.sha256);
  });

  it("two masters built in turn in one folder each reuse their own rootfs.tgz and SBOM (kept under .vauban/kept/<master>/, hard links)", async () => {
    const masterA = ['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'feature@pb_web.yml'];
    const masterB = ['-s', `${prefix}/pb_base.yml`, '-n', `${MASTER}-b`, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_delete.yml'];
    const tarball = path.join(cwd, 'rootfs.tgz');
    const sbom = path.join(cwd, 'sbom.cdx.json');
    const a = await vauban(masterA);
    expect(a.exitCode, tail(a)).toBe(0);
    const shaA = await sha256(tarball);
    const sbomA = await sha256(sbom);
    const b = await vauban(masterB);
    expect(b.exitCode, tail(b)).toBe(0);
    expect(decisions(b)['rootfs.tgz']).toMatch(/^build: /);
    const shaB = await sha256(tarball);
    expect(shaB).not.toBe(shaA);
    for (const [args, sha, name] of [[masterA, shaA, MASTER], [masterB, shaB, `${MASTER}-b`]] as const) {
      const run = await vauban([...args]);
      expect(run.exitCode, tail(run)).toBe(0);
      expect(decisions(run)['rootfs.tgz'], tail(run)).toMatch(/^reuse: inputs unchanged \(built .*\), kept for this master$/);
      expect(run.output).not.toMatch(/mksquashfs/);
      expect(await sha256(tarball)).toBe(sha);
      const kept = path.join(cwd, '.vauban/kept', name, 'rootfs.tgz');
      expect(statSync(kept).ino).toBe(statSync(tarball).ino);
      expect(JSON.parse(readFileSync(`${tarball}.inputs.json`, 'utf8')).sha256).toBe(sha);
    }
    // Master a's SBOM came back with its rootfs.tgz when a was reused (b's is there now).
    expect(await sha256(path.join(cwd, '.vauban/kept', MASTER, 'sbom.cdx.json'))).toBe(sbomA);
    expect(statSync(path.join(cwd, '.vauban/kept')).mode & 0o077).toBe(0);
  });

  it('vmlinuz and initramfs.img are reused while the base, dracut.conf and modules.d are unchanged: the base is not even mounted', async () => {
    const args = ['-f', baseImage, '-n', MASTER, '-r', 'no', '-l', 'no', '-u', 'no', '-i', 'yes'];
    const first = await vauban(args);
    expect(first.exitCode, tail(first)).toBe(0);
    expect(decisions(first).vmlinuz).toMatch(/^build: /);
    const run = await vauban(args);
    expect(run.exitCode, tail(run)).toBe(0);
    expect(decisions(run).vmlinuz).toMatch(/^reuse: inputs unchanged/);
    expect(decisions(run)['initramfs.img']).toMatch(/^reuse: inputs unchanged/);
    expect(run.output).not.toMatch(/mount_iso|bootstrap_fs|dracut for/);
  });

  describe('conffs and upload', () => {
    let uploadDir: string;
    let sshd: TestSshd;
    // -b feature: the hosts' variables come from the inventory of the branch the stage plays.
    const conffsArgs = (rootfs = 'yes') => ['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-r', rootfs, '-b', 'feature', '-a', 'web01,web02', '-i', 'no', '-u', 'yes', '--compression', 'zstd', 'feature@pb_web.yml'];
    const releaseFile = (member: string) => path.join(uploadDir, MASTER, 'current', member);
    /** The files the run sent: its recap's "Uploaded:" lines. */
    const uploaded = (run: VaubanRun) => [...run.output.matchAll(/^\S*\s+ssh:\/\/127\.0\.0\.1:\d+:\S+\/(\S+)$/gm)].map((match) => match[1]).sort();
    const upload = () => ({ ...pxeServerSettings(sshd, { user: 'root', keyFile: path.join(work, 'upload-key'), dir: uploadDir }) });

    beforeAll(async () => {
      const key = path.join(work, 'upload-key');
      await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-incremental', '-f', key]);
      sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${key}.pub`, 'utf8').trim()]);
      uploadDir = path.join(work, 'pxe');
      mkdirSync(uploadDir);
    }, 60_000);

    afterAll(async () => {
      await sshd?.stop();
    });

    it('an unchanged rebuild reuses every conffs and sends nothing', async () => {
      const first = await vauban(conffsArgs(), upload());
      expect(first.exitCode, tail(first)).toBe(0);
      expect(decisions(first).web01).toMatch(/^build: /);
      expect(uploaded(first)).toEqual(['conffs-web01.tgz', 'conffs-web02.tgz', 'rootfs.tgz', 'sbom.cdx.json']);
      const inodes = ['rootfs.tgz', 'conffs-web01.tgz', 'conffs-web02.tgz'].map((member) => statSync(releaseFile(member)).ino);
      const run = await vauban(conffsArgs(), upload());
      expect(run.exitCode, tail(run)).toBe(0);
      const said = decisions(run);
      for (const name of ['web01', 'web02', 'rootfs.tgz', `${prefix}/pb_web.yml`]) expect(said[name], `${name}\n${tail(run, 60)}`).toMatch(/^reuse: inputs unchanged/);
      expect(run.output).not.toMatch(/TASK \[/);
      expect(uploaded(run)).toEqual([]);
      // A new release, live, of the very same files: hard links of the previous one's.
      expect(run.output).toMatch(/unchanged \(same sha256, linked, not sent\): conffs-web01\.tgz, conffs-web02\.tgz, rootfs\.tgz, sbom\.cdx\.json/);
      expect(['rootfs.tgz', 'conffs-web01.tgz', 'conffs-web02.tgz'].map((member) => statSync(releaseFile(member)).ino)).toEqual(inodes);
    });

    it("a changed host var rebuilds only that host's conffs and sends only its archive: the master's stage, image and rootfs are reused (issue 28)", async () => {
      const clone = path.join(work, 'clone-feature-inventory');
      await sh('git', ['clone', '-q', '-b', 'feature', repo.bare, clone]);
      const inventory = path.join(clone, 'inventory');
      writeFileSync(inventory, readFileSync(inventory, 'utf8').replace('web02 http_port=8082', 'web02 http_port=9092'));
      const git = (...args: string[]) => sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: clone });
      await git('commit', '-q', '-am', 'web02 listens on 9092');
      await git('push', '-q', 'origin', 'feature');
      const web01 = statSync(releaseFile('conffs-web01.tgz')).ino;
      const master = await idOf(MASTER);
      // The dry run says it beforehand.
      const dry = await vauban([...conffsArgs(), '--dry-run', '--json'], upload());
      expect(dry.exitCode, tail(dry)).toBe(0);
      const predicted = Object.fromEntries((JSON.parse(dry.output.slice(dry.output.indexOf('{'))) as { cache: { entries: Array<{ name: string; action: string; reason: string }> } }).cache.entries.map((entry) => [entry.name, `${entry.action}: ${entry.reason}`]));
      expect(predicted[`${prefix}/pb_web.yml`]).toMatch(/^reuse: inputs unchanged .*\(branch moved [0-9a-f]{10}\.\.[0-9a-f]{10}: the change concerns other hosts only\)$/);
      const run = await vauban([...conffsArgs(), '--debug'], upload());
      expect(run.exitCode, tail(run)).toBe(0);
      const said = decisions(run);
      expect(said[`${prefix}/pb_web.yml`]).toMatch(/^reuse: inputs unchanged .*\(branch moved [0-9a-f]{10}\.\.[0-9a-f]{10}: the change concerns other hosts only\)$/);
      // The dry run listed the inventory with Ansible; the run saw from git alone that the change is web02's, and agrees.
      expect(said[`${prefix}/pb_web.yml`]).toBe(predicted[`${prefix}/pb_web.yml`]);
      expect(run.output).toMatch(new RegExp(`${prefix}/pb_web\\.yml: the inventory is not listed: since [0-9a-f]{10}, it changed for web02 only`));
      expect(await idOf(MASTER)).toBe(master);
      expect(said['rootfs.tgz']).toMatch(/^reuse: /);
      expect(said.web01).toMatch(/^reuse: inputs unchanged/);
      expect(said.web02).toBe('build: host vars changed');
      expect(uploaded(run)).toEqual(['conffs-web02.tgz']);
      expect(statSync(releaseFile('conffs-web01.tgz')).ino).toBe(web01);
      const listing = await sh('tar', ['-xzOf', releaseFile('conffs-web02.tgz'), '--wildcards', '*etc/vauban-web.conf']);
      // sh() strips the final newline.
      expect(listing).toBe('listen 9092 on web02');

      // The same host's variable in host_vars/ beside the playbooks (over the inventory's, as Ansible ranks them).
      mkdirSync(path.join(clone, 'host_vars'), { recursive: true });
      writeFileSync(path.join(clone, 'host_vars', 'web02.yml'), 'http_port: 9192\n');
      await git('add', 'host_vars');
      await git('commit', '-q', '-m', 'web02 listens on 9192');
      await git('push', '-q', 'origin', 'feature');
      const again = await vauban([...conffsArgs(), '--debug'], upload());
      expect(again.exitCode, tail(again)).toBe(0);
      const saidAgain = decisions(again);
      expect(saidAgain[`${prefix}/pb_web.yml`]).toMatch(/^reuse: inputs unchanged .*: the change concerns other hosts only\)$/);
      expect(again.output).toMatch(new RegExp(`${prefix}/pb_web\\.yml: the inventory is not listed: since [0-9a-f]{10}, it changed for web02 only`));
      expect(await idOf(MASTER)).toBe(master);
      expect([saidAgain['rootfs.tgz'], saidAgain.web01, saidAgain.web02]).toEqual([expect.stringMatching(/^reuse: /), expect.stringMatching(/^reuse: inputs unchanged/), 'build: host vars changed']);
      expect(uploaded(again)).toEqual(['conffs-web02.tgz']);
      expect(await sh('tar', ['-xzOf', releaseFile('conffs-web02.tgz'), '--wildcards', '*etc/vauban-web.conf'])).toBe('listen 9192 on web02');
    });

    it("a variable of the master's own (host_vars/ beside the playbooks) rebuilds its stage, saying so, and no host's conffs (issue 28)", async () => {
      const clone = path.join(work, 'clone-feature-master-vars');
      await sh('git', ['clone', '-q', '-b', 'feature', repo.bare, clone]);
      mkdirSync(path.join(clone, 'host_vars'), { recursive: true });
      writeFileSync(path.join(clone, 'host_vars', `${MASTER}.yml`), 'vauban_master_note: a variable of the master only\n');
      const git = (...args: string[]) => sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: clone });
      await git('add', 'host_vars');
      await git('commit', '-q', '-m', 'a variable of the master');
      await git('push', '-q', 'origin', 'feature');
      const master = await idOf(MASTER);
      const run = await vauban(conffsArgs(), upload());
      expect(run.exitCode, tail(run)).toBe(0);
      const said = decisions(run);
      expect(said[`${prefix}/pb_web.yml`]).toBe(`build: variables or groups of ${MASTER} changed (inventory, group_vars, host_vars)`);
      expect(await idOf(MASTER)).not.toBe(master);
      expect(said.web01).toMatch(/^reuse: inputs unchanged/);
      expect(said.web02).toMatch(/^reuse: inputs unchanged/);
    });

    it("once a template reads other hosts (groups, hostvars), another host's var rebuilds this host's conffs", async () => {
      const clone = path.join(work, 'clone-feature-peers');
      await sh('git', ['clone', '-q', '-b', 'feature', repo.bare, clone]);
      const git = (...args: string[]) => sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: clone });
      appendFileSync(
        path.join(clone, 'pb_web.yml'),
        `    - name: The web peers
      ansible.builtin.copy:
        content: "{% for peer in groups['web'] | sort %}{{ peer }}:{{ hostvars[peer].http_port }} {% endfor %}"
        dest: /etc/vauban-peers.conf
        mode: "0644"
`,
      );
      await git('commit', '-q', '-am', 'web peers');
      await git('push', '-q', 'origin', 'feature');
      // One host, conffs only, no upload: the cheapest run that records web01's conffs with the new play.
      const args = ['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-r', 'no', '-b', 'feature', '-a', 'web01', '-i', 'no', '-u', 'no', 'feature@pb_web.yml'];
      const recorded = await vauban(args);
      expect(recorded.exitCode, tail(recorded)).toBe(0);
      expect(decisions(recorded).web01).toMatch(/^build: /);
      const inventory = path.join(clone, 'inventory');
      writeFileSync(inventory, readFileSync(inventory, 'utf8').replace('web03 http_port=8083', 'web03 http_port=9093'));
      await git('commit', '-q', '-am', 'web03 listens on 9093');
      await git('push', '-q', 'origin', 'feature');
      // web03 is not built, and web01's own variables did not change: only the whole inventory's digest says it.
      const run = await vauban(args);
      expect(run.exitCode, tail(run)).toBe(0);
      expect(decisions(run).web01).toBe('build: the inventory changed (the stages read other hosts: hostvars, groups...)');
      const folder = readdirSync(path.join(cwd, 'overlayfs')).filter((name) => name.endsWith('-overlayfs-web01')).sort().at(-1) ?? '';
      const peers = await sh('tar', ['-xzOf', path.join(cwd, 'overlayfs', folder, 'conffs-web01.tgz'), '--wildcards', '*etc/vauban-peers.conf']);
      expect(peers).toContain('web03:9093');
    });

    it('an inventory folder with its own group_vars/: while a play reads other hosts, any inventory change rebuilds the stage; once not, a group variable of the hosts rebuilds their conffs only, one of the master\'s group its stage only (issue 28)', async () => {
      const clone = path.join(work, 'clone-feature-inventory-folder');
      await sh('git', ['clone', '-q', '-b', 'feature', repo.bare, clone]);
      const git = (...args: string[]) => sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: clone });
      const commit = async (message: string) => {
        await git('add', '-A');
        await git('commit', '-q', '-m', message);
        await git('push', '-q', 'origin', 'feature');
      };
      const build = async (...extra: string[]) => {
        const run = await vauban([...conffsArgs(), ...extra], upload());
        expect(run.exitCode, tail(run)).toBe(0);
        return { said: decisions(run), run };
      };
      const stage = `${prefix}/pb_web.yml`;
      const masterChanged = `build: variables or groups of ${MASTER} changed (inventory, group_vars, host_vars)`;
      // The inventory as a folder: its hosts, the master in a group of its own, a group_vars/ of its own.
      const hosts = readFileSync(path.join(clone, 'inventory'), 'utf8');
      rmSync(path.join(clone, 'inventory'));
      mkdirSync(path.join(clone, 'inventory', 'group_vars'), { recursive: true });
      writeFileSync(path.join(clone, 'inventory', 'hosts'), `${hosts}\n[itest_masters]\n${MASTER}\n`);
      writeFileSync(path.join(clone, 'inventory', 'group_vars', 'web.yml'), 'web_note: one\n');
      writeFileSync(path.join(clone, 'inventory', 'group_vars', 'itest_masters.yml'), 'master_note: one\n');
      await commit('the inventory as a folder');
      expect((await build()).said[stage]).toMatch(new RegExp(`^build: .*variables or groups of ${MASTER} changed`));

      // pb_web.yml reads groups['web'] (the test before): an inventory change for the hosts is an input of the master too.
      writeFileSync(path.join(clone, 'inventory', 'group_vars', 'web.yml'), 'web_note: two\n');
      await commit('a variable of the web group, while a play reads other hosts');
      expect((await build()).said[stage]).toBe('build: the inventory changed (the stages read other hosts: hostvars, groups...)');

      // Without the play that reads other hosts, the same kind of change is the hosts' only.
      const playbook = path.join(clone, 'pb_web.yml');
      writeFileSync(playbook, readFileSync(playbook, 'utf8').slice(0, readFileSync(playbook, 'utf8').indexOf('    - name: The web peers')));
      await commit('no play reads other hosts');
      expect((await build()).said[stage]).toBe('build: the stages now read other hosts (hostvars, groups...) or no longer do, branch feature: its files changed (not only its inventory)');
      writeFileSync(path.join(clone, 'inventory', 'group_vars', 'web.yml'), 'web_note: three\n');
      await commit('a variable of the web group');
      const master = await idOf(MASTER);
      const hostsRun = await build('--debug');
      expect(hostsRun.said[stage]).toMatch(/^reuse: inputs unchanged .*: the change concerns other hosts only\)$/);
      // Not a group of the master's (its groups kept from its build's listing): the inventory was not listed again.
      expect(hostsRun.run.output).toMatch(/pb_web\.yml: the inventory is not listed: since [0-9a-f]{10}, it changed for group web only/);
      expect(await idOf(MASTER)).toBe(master);
      expect(hostsRun.said['rootfs.tgz']).toMatch(/^reuse: /);
      expect([hostsRun.said.web01, hostsRun.said.web02]).toEqual(['build: host vars changed', 'build: host vars changed']);
      expect(uploaded(hostsRun.run)).toEqual(['conffs-web01.tgz', 'conffs-web02.tgz']);

      writeFileSync(path.join(clone, 'inventory', 'group_vars', 'itest_masters.yml'), 'master_note: two\n');
      await commit("a variable of the master's group");
      const masterRun = await build('--debug');
      expect(masterRun.said[stage]).toBe(masterChanged);
      expect(masterRun.run.output).toMatch(new RegExp(`pb_web\\.yml: the inventory is listed \\(since [0-9a-f]{10}: inventory/group_vars/itest_masters\\.yml is read for ${MASTER} \\(group itest_masters\\)\\)`));
      expect(await idOf(MASTER)).not.toBe(master);
      expect([masterRun.said.web01, masterRun.said.web02].every((said) => /^reuse: inputs unchanged/.test(said ?? ''))).toBe(true);
    });

    it('--shard I/N: each shard resolves the same hosts with Ansible and builds its share only; the shares are disjoint and cover them (issue 29)', async () => {
      const pattern = 'web01,web02,web03';
      const shardArgs = (shard: string) => ['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-b', 'feature', '-a', pattern, '--shard', shard, '--compression', 'zstd', 'feature@pb_web.yml'];
      const expected = (index: number) => ['web01', 'web02', 'web03'].filter((host) => shardOf(host, 2) === index);
      const built: string[] = [];
      for (const index of [1, 2]) {
        const dry = await vauban([...shardArgs(`${index}/2`), '--dry-run', '--json']);
        expect(dry.exitCode, tail(dry)).toBe(0);
        const conffs = (JSON.parse(dry.output.slice(dry.output.indexOf('{'))) as { plan: { steps: string[]; conffs: { hosts: string[]; shard: unknown } } }).plan;
        expect(conffs.steps).toEqual(['build_conffs']);
        expect(conffs.conffs.hosts).toEqual(expected(index));
        expect(conffs.conffs.shard).toEqual({ index, total: 2, hosts_selected: 3 });
        const run = await vauban(shardArgs(`${index}/2`));
        expect(run.exitCode, tail(run)).toBe(0);
        const said = Object.keys(decisions(run)).filter((name) => name.startsWith('web'));
        expect(said.sort()).toEqual(expected(index));
        expect(run.output).not.toMatch(/apply_stages|build_rootfs|upload:/);
        built.push(...said);
      }
      expect(built.sort()).toEqual(['web01', 'web02', 'web03']);
    });

    it("a role's template, then ansible.cfg, changed on the branch: the stage that plays with them is rebuilt, saying so (issue 28)", async () => {
      const clone = path.join(work, 'clone-feature-tree');
      await sh('git', ['clone', '-q', '-b', 'feature', repo.bare, clone]);
      const git = (...args: string[]) => sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: clone });
      const commit = async (message: string) => {
        await git('commit', '-q', '-am', message);
        await git('push', '-q', 'origin', 'feature');
      };
      const stage = `${prefix}/pb_web.yml`;
      const filesChanged = 'build: branch feature: its files changed (not only its inventory)';
      // The master alone (no conffs, no upload): the stage and the rootfs.
      const args = ['-s', `${prefix}/pb_base.yml`, '-n', MASTER, '-b', 'feature', '-i', 'no', '-u', 'no', '--compression', 'zstd', 'feature@pb_web.yml'];
      appendFileSync(path.join(clone, 'roles', 'webserver', 'templates', 'index.html.j2'), '<!-- one more line -->\n');
      await commit("a role's template");
      const master = await idOf(MASTER);
      const run = await vauban(args);
      expect(run.exitCode, tail(run)).toBe(0);
      expect(decisions(run)[stage]).toBe(filesChanged);
      expect(await idOf(MASTER)).not.toBe(master);
      // ansible.cfg (read by every play): the dry run, which decides as the run does, says the stage is rebuilt.
      appendFileSync(path.join(clone, 'ansible.cfg'), 'forks = 7\n');
      await commit('ansible.cfg: forks');
      const dry = await vauban([...args, '--dry-run', '--json']);
      expect(dry.exitCode, tail(dry)).toBe(0);
      const predicted = (JSON.parse(dry.output.slice(dry.output.indexOf('{'))) as { cache: { entries: Array<{ name: string; action: string; reason: string }> } }).cache.entries.find((entry) => entry.name === stage);
      expect(`${predicted?.action ?? ''}: ${predicted?.reason ?? ''}`).toBe(filesChanged);
    });
  });
});
