// Issue 14: the PXE side on real components, without building anything. A
// private sshd on loopback is the PXE server (a non-root user with sudo, as in
// delivery.test.ts); a second sshd in a mount namespace of its own, where
// UPLOAD_DIR is a read-only copy, is a second server whose disk went
// read-only. Releases are published with vauban's own code over ssh from files
// made here; promote, rollback and serve are the real commands.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseName } from '../src/pxe/layout.js';
import { publishRelease, type PublishInput } from '../src/pxe/publish-release.js';
import { putFile } from '../src/pxe/put-file.js';
import { openSshServer, type PxeServer } from '../src/pxe/pxe-server.js';
import { pxeTargets } from '../src/pxe/ssh-options.js';
import { CleanupStack } from '../src/system/cleanup.js';
import type { SshTarget } from '../src/system/ssh.js';
import { sha256File } from '../src/system/sha256-file.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { createPxeUser, killWhenRootfsIsSent, type PxeUser } from './helpers/pxe-user.js';
import { sh } from './helpers/sh.js';
import { pxeServerSettings, startSshd, type TestSshd } from './helpers/sshd.js';
import { runVauban, tail } from './helpers/vauban.js';

const PXE_USER = 'vauban-pxe-rel';
const MASTER = 'master-itest-rel';
const release = (minute: number) => releaseName(new Date(Date.UTC(2026, 0, 20, 14, minute)), 'itest');
const [R1, R2, R3] = [release(1), release(2), release(3)];

let work: string;
let uploadDir: string;
let sshd: TestSshd;
let pxeUser: PxeUser;
let env: Record<string, string>;
let server: PxeServer;
let before: HostState;
const cleanup = new CleanupStack();

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const served = (relative: string) => readFileSync(path.join(uploadDir, relative));

function artifact(name: string, content: string | Buffer): string {
  const file = path.join(work, 'artifacts', name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

async function publish(overrides: Partial<PublishInput> & { release: string }): Promise<void> {
  await publishRelease(server, { name: MASTER, files: [], kernelVersion: undefined, bootFiles: [], group: 'www-data', keep: 3, runId: 'itest', cleanup, ...overrides });
}

async function file(member: string, content: string | Buffer): Promise<{ member: string; local: string; sha256: string }> {
  const local = artifact(`${member}-${sha(content).slice(0, 8)}`, content);
  return { member, local, sha256: await sha256File(local) };
}

const live = () => readlinkSync(path.join(uploadDir, MASTER, 'current'));

beforeAll(async () => {
  before = await readHostState();
  work = mkdtempSync('/var/tmp/vauban-itest-releases-');
  chmodSync(work, 0o711);
  pxeUser = await createPxeUser(PXE_USER);
  const key = path.join(work, 'upload-key');
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-releases', '-f', key]);
  sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${key}.pub`, 'utf8').trim()]);
  // Root's, 0755: the ssh user writes it through sudo.
  uploadDir = path.join(work, 'pxe');
  mkdirSync(path.join(uploadDir, 'linux'), { recursive: true, mode: 0o755 });
  writeFileSync(path.join(uploadDir, 'linux', 'vmlinuz-6.1.0-1-amd64'), 'kernel 6.1');
  writeFileSync(path.join(uploadDir, 'linux', 'initramfs.img-6.1.0-1-amd64'), 'initramfs 6.1');
  mkdirSync(path.join(work, 'home'));
  mkdirSync(path.join(work, 'project'));
  env = {
    HOME: path.join(work, 'home'),
    ...pxeServerSettings(sshd, { user: PXE_USER, keyFile: key, dir: uploadDir }),
    UPLOAD_OWNER: 'www-data',
  };
  const workDir = path.join(work, 'ssh');
  mkdirSync(workDir, { mode: 0o700 });
  const [target] = pxeTargets(env, workDir) as [SshTarget];
  server = await openSshServer({ target, dir: uploadDir, folders: [MASTER], runOptions: {} });
}, 120_000);

afterAll(async () => {
  await cleanup.unwind(() => undefined);
  await sshd?.stop();
  await pxeUser?.remove();
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

describe('releases over ssh, with sudo (B14)', () => {
  it('the first release takes over the flat layout of vauban.sh: same files (hard links), the article\'s paths through current, entries pinned', async () => {
    // What vauban.sh (or vauban before releases) left on the server.
    mkdirSync(path.join(uploadDir, MASTER), { recursive: true });
    writeFileSync(path.join(uploadDir, MASTER, 'rootfs.tgz'), 'rootfs of vauban.sh');
    writeFileSync(path.join(uploadDir, MASTER, 'conffs-web02.tgz'), 'conffs web02 of vauban.sh');
    symlinkSync('../linux/vmlinuz-6.1.0-1-amd64', path.join(uploadDir, MASTER, 'vmlinuz'));
    symlinkSync('../linux/initramfs.img-6.1.0-1-amd64', path.join(uploadDir, MASTER, 'initramfs.img'));
    const inode = statSync(path.join(uploadDir, MASTER, 'rootfs.tgz')).ino;

    const web01 = await file('conffs-web01.tgz', 'conffs web01 r1');
    await publish({ release: R1, files: [web01], bootFiles: [{ path: 'boot/by-mac/52-54-00-12-34-56.ipxe', content: '#!ipxe\nchain ../web01.ipxe\n' }] });
    expect(live()).toBe(`releases/${R1}`);
    expect(statSync(path.join(uploadDir, MASTER, 'releases', R1, 'rootfs.tgz')).ino).toBe(inode);
    expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs of vauban.sh');
    expect(served(`${MASTER}/conffs-web02.tgz`).toString()).toBe('conffs web02 of vauban.sh');
    expect(served(`${MASTER}/conffs-web01.tgz`).toString()).toBe('conffs web01 r1');
    expect(served(`${MASTER}/vmlinuz`).toString()).toBe('kernel 6.1');
    expect(readlinkSync(path.join(uploadDir, MASTER, 'rootfs.tgz'))).toBe('current/rootfs.tgz');
    const entry = served('boot/web01.ipxe').toString();
    expect(entry).toContain(`vauban.rootfs.sha256=${sha('rootfs of vauban.sh')} vauban.conffs.sha256=${web01.sha256}`);
    expect(served('boot/web02.ipxe').toString()).toContain(`vauban.conffs.sha256=${sha('conffs web02 of vauban.sh')}`);
    expect(served('boot/by-mac/52-54-00-12-34-56.ipxe').toString()).toBe('#!ipxe\nchain ../web01.ipxe\n');
    // Written as root through sudo, readable by the web server's group only.
    for (const member of ['rootfs.tgz', 'conffs-web01.tgz', 'web01.ipxe', 'SHA256SUMS']) {
      expect(await sh('stat', ['-L', '-c', '%a %U %G', path.join(uploadDir, MASTER, 'releases', R1, member)]), member).toMatch(/^640 \S+ www-data$/);
    }
    for (const folder of [MASTER, `${MASTER}/releases`, `${MASTER}/releases/${R1}`, 'boot', 'boot/by-mac']) {
      expect(await sh('stat', ['-c', '%a %G', path.join(uploadDir, folder)]), folder).toBe('750 www-data');
    }
  });

  it('a new rootfs makes a new release with the conffs of the live one; the previous release stays as it was', async () => {
    // Its kernel first, to the shared linux/ folder.
    const kernel = await file('vmlinuz', 'kernel 6.1');
    await putFile(server, { local: kernel.local, path: 'linux/vmlinuz-6.1.0-1-amd64', sha256: kernel.sha256, group: 'www-data', runId: 'itest', cleanup });
    expect(await sh('stat', ['-c', '%a %G', path.join(uploadDir, 'linux')])).toBe('750 www-data');
    expect(await sh('stat', ['-c', '%a %G', path.join(uploadDir, 'linux', 'vmlinuz-6.1.0-1-amd64')])).toBe('640 www-data');
    const rootfs = await file('rootfs.tgz', 'rootfs r2');
    await publish({ release: R2, files: [rootfs], kernelVersion: '6.1.0-1-amd64' });
    expect(live()).toBe(`releases/${R2}`);
    expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs r2');
    expect(served(`${MASTER}/conffs-web01.tgz`).toString()).toBe('conffs web01 r1');
    expect(served(`${MASTER}/releases/${R1}/rootfs.tgz`).toString()).toBe('rootfs of vauban.sh');
    expect(served('boot/web01.ipxe').toString()).toContain(`vauban.rootfs.sha256=${rootfs.sha256}`);
    expect(served('boot/web01.ipxe').toString()).toContain(`/releases/${R2}/rootfs.tgz`);
  });

  it('the bytes of each file are said as they go over ssh, up to its size (issue 31)', async () => {
    const other = `${MASTER}-progress`;
    const said: string[] = [];
    const big = await file('rootfs.tgz', Buffer.alloc(24 * 1024 * 1024, 3));
    await publish({ name: other, release: R1, files: [big, await file('conffs-web01.tgz', 'conffs of the progress test')], onProgress: (text) => said.push(text) });
    const rootfs = said.filter((text) => text.startsWith('1/2 rootfs.tgz: '));
    expect(rootfs[0]).toBe('1/2 rootfs.tgz: 0.0 MiB of 24.0 MiB');
    expect(rootfs.length).toBeGreaterThan(3);
    expect(rootfs.at(-1)).toBe('1/2 rootfs.tgz: 24.0 MiB of 24.0 MiB');
    expect(said.at(-1)).toBe('2/2 conffs-web01.tgz: 0.0 MiB of 0.0 MiB');
    expect(served(`${other}/rootfs.tgz`).length).toBe(24 * 1024 * 1024);
  });

  it('an upload cut mid-release (ssh killed while rootfs.tgz is sent) leaves current on the previous complete release, and nothing partial', async () => {
    const big = await file('rootfs.tgz', Buffer.alloc(256 * 1024 * 1024, 7));
    const watcher = killWhenRootfsIsSent(path.join(uploadDir, MASTER, 'releases'), PXE_USER, 60_000);
    const cut = new CleanupStack();
    const attempt = publishRelease(server, { name: MASTER, release: R3, files: [big], kernelVersion: undefined, bootFiles: [], group: 'www-data', keep: 3, runId: 'itest', cleanup: cut });
    await expect(attempt).rejects.toThrow();
    expect(await watcher).toBe(true);
    // What a run does at its end: its cleanup, over a new connection.
    await cut.unwind(() => undefined);
    expect(live()).toBe(`releases/${R2}`);
    expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs r2');
    expect(readdirSync(path.join(uploadDir, MASTER, 'releases')).sort()).toEqual([R1, R2]);
  }, 300_000);

  it('a rootfs.tgz damaged on its way over ssh (short, or one byte changed): the server\'s sha256 refuses it, the release is not made, current stays (issue 27)', async () => {
    // An ssh on PATH that damages what it carries to the server's dd of a rootfs.tgz, then hands it to the real ssh
    // (vauban gives its commands a clean environment: the damage is written into each wrapper).
    const realSsh = (await sh('sh', ['-c', 'command -v ssh'])).trim();
    const damages = { short: 'truncate --size=-7 "$tmp"', byte: 'printf X | dd of="$tmp" bs=1 seek=10 conv=notrunc status=none' };
    const releases = path.join(uploadDir, MASTER, 'releases');
    const path0 = process.env.PATH;
    try {
      for (const [index, [damage, command]] of Object.entries(damages).entries()) {
        const bin = path.join(work, `damaging-ssh-${damage}`);
        mkdirSync(bin, { recursive: true });
        writeFileSync(
          path.join(bin, 'ssh'),
          `#!/bin/sh
for last; do :; done
case "$last" in
  *dd*of=*rootfs.tgz*)
    tmp=$(mktemp); cat > "$tmp"; ${command}
    ${realSsh} "$@" < "$tmp"; status=$?; rm -f "$tmp"; exit $status ;;
esac
exec ${realSsh} "$@"
`,
          { mode: 0o755 },
        );
        process.env.PATH = `${bin}:${path0 ?? ''}`;
        const rootfs = await file('rootfs.tgz', `rootfs damaged on the way (${damage}) ${'.'.repeat(64)}`);
        const cut = new CleanupStack();
        const attempt = publishRelease(server, { name: MASTER, release: release(10 + index), files: [rootfs], kernelVersion: undefined, bootFiles: [], group: 'www-data', keep: 3, runId: 'itest', cleanup: cut });
        await expect(attempt).rejects.toThrow(new RegExp(`rootfs\\.tgz does not match ${rootfs.local} after the copy \\(sha256 [0-9a-f]{64} != ${rootfs.sha256}\\)`));
        await cut.unwind(() => undefined);
        expect(live()).toBe(`releases/${R2}`);
        expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs r2');
        expect(readdirSync(releases).sort()).toEqual([R1, R2]);
      }
    } finally {
      process.env.PATH = path0;
    }
  }, 300_000);

  it('a run killed outright (SIGKILL) while rootfs.tgz is sent leaves its .partial-* and current as it was; the next release removes the dead run\'s partial (issue 27)', async () => {
    const { publishEverywhere } = await import('../src/pxe/publish-everywhere.js');
    const other = `${MASTER}-killed`;
    const base = { name: other, kernelVersion: undefined, bootFiles: [], group: 'www-data', keep: 3, runId: 'itest', cleanup };
    await publishEverywhere([server], { ...base, release: R1, files: [await file('rootfs.tgz', 'rootfs before the killed run')] });
    // vauban's own publish code (the built dist/) in a process of its own, killed with no chance to clean up.
    const big = await file('rootfs.tgz', Buffer.alloc(128 * 1024 * 1024, 9));
    const at = (module: string) => JSON.stringify(path.resolve('dist/src', module));
    mkdirSync(path.join(work, 'ssh-killed'), { mode: 0o700, recursive: true });
    const child = execa(process.execPath, ['--input-type=module', '-e', `
      const { publishRelease } = await import(${at('pxe/publish-release.js')});
      const { openSshServer } = await import(${at('pxe/pxe-server.js')});
      const { pxeTargets } = await import(${at('pxe/ssh-options.js')});
      const { CleanupStack } = await import(${at('system/cleanup.js')});
      const [target] = pxeTargets(process.env, ${JSON.stringify(path.join(work, 'ssh-killed'))});
      const server = await openSshServer({ target, dir: ${JSON.stringify(uploadDir)}, folders: [${JSON.stringify(other)}], runOptions: {} });
      await publishRelease(server, { name: ${JSON.stringify(other)}, release: ${JSON.stringify(R2)}, files: [${JSON.stringify(big)}], kernelVersion: undefined, bootFiles: [], group: 'www-data', keep: 3, runId: 'killed', cleanup: new CleanupStack() });
    `], { env, reject: false });
    const releases = path.join(uploadDir, other, 'releases');
    const partial = `.partial-${R2}`;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && !existsSync(path.join(releases, partial, 'rootfs.tgz')); ) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(existsSync(path.join(releases, partial, 'rootfs.tgz')), 'the child reached the send').toBe(true);
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    // What the dead run left: its partial release (a dot folder: never served, never a release); the live release as it was.
    expect(readdirSync(releases).sort()).toEqual([partial, R1]);
    expect(readlinkSync(path.join(uploadDir, other, 'current'))).toBe(`releases/${R1}`);
    expect(served(`${other}/rootfs.tgz`).toString()).toBe('rootfs before the killed run');
    // The next run's release goes live and takes the dead run's partial away (under the master's lock: no one else stages).
    const [published] = await publishEverywhere([server], { ...base, release: R3, files: [await file('conffs-web01.tgz', 'conffs web01 after a killed run')] });
    expect(readlinkSync(path.join(uploadDir, other, 'current'))).toBe(`releases/${R3}`);
    expect(published?.published.pruned).toEqual([partial]);
    expect(readdirSync(releases).sort()).toEqual([R1, R3]);
    expect(served(`${other}/rootfs.tgz`).toString()).toBe('rootfs before the killed run');
  }, 300_000);

  it('two uploads of one master at once over ssh: the second waits for the first\'s lock on the server, then keeps its files (issue 30)', async () => {
    const { publishEverywhere } = await import('../src/pxe/publish-everywhere.js');
    const other = `${MASTER}-lock`;
    const base = { name: other, kernelVersion: undefined, bootFiles: [], group: 'www-data', keep: 3, runId: 'itest', cleanup };
    await publishEverywhere([server], { ...base, release: R1, files: [await file('rootfs.tgz', 'rootfs of the lock test')] });
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const slow: PxeServer = { ...server, send: async (local, to, options) => { await gate; await server.send(local, to, options); } };
    const first = publishEverywhere([slow], { ...base, release: R2, files: [await file('conffs-web01.tgz', 'conffs web01 of the lock test')] });
    const partial = path.join(uploadDir, other, 'releases', `.partial-${R2}`);
    for (let tries = 0; !existsSync(partial) && tries < 600; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
    const waited: string[] = [];
    const second = publishEverywhere([server], { ...base, release: R3, files: [await file('conffs-web02.tgz', 'conffs web02 of the lock test')] }, { onWaiting: (name) => waited.push(name) });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(waited).toEqual([server.name]);
    letGo();
    await first;
    await second;
    expect(readlinkSync(path.join(uploadDir, other, 'current'))).toBe(`releases/${R3}`);
    expect(readdirSync(path.join(uploadDir, other, 'releases', R3)).filter((name) => name.startsWith('conffs-')).sort()).toEqual(['conffs-web01.tgz', 'conffs-web02.tgz']);
  });

  it('past RELEASES_KEEP the oldest release goes, never the live one', async () => {
    await publish({ release: R3, files: [await file('rootfs.tgz', 'rootfs r3')], keep: 2 });
    expect(readdirSync(path.join(uploadDir, MASTER, 'releases')).sort()).toEqual([R2, R3]);
    expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs r3');
    // The live release is not always the newest by name: a builder whose clock is behind names its release before
    // the others. With RELEASES_KEEP=1 it stays (live), beside the newest; the one between goes.
    const other = `${MASTER}-keep`;
    const releasesOf = () => readdirSync(path.join(uploadDir, other, 'releases')).sort();
    await publish({ name: other, release: R2, files: [await file('rootfs.tgz', 'rootfs keep r2')], keep: 1 });
    await publish({ name: other, release: R3, files: [await file('rootfs.tgz', 'rootfs keep r3')], keep: 1 });
    expect(releasesOf()).toEqual([R3]);
    await publish({ name: other, release: R1, files: [await file('rootfs.tgz', 'rootfs keep r1, clock behind')], keep: 1 });
    expect(readlinkSync(path.join(uploadDir, other, 'current'))).toBe(`releases/${R1}`);
    expect(releasesOf()).toEqual([R1, R3]);
    expect(served(`${other}/rootfs.tgz`).toString()).toBe('rootfs keep r1, clock behind');
  });
});

describe('vauban promote and rollback (B14)', () => {
  const vauban = (args: string[], extra: Record<string, string> = {}) => runVauban('vauban', args, { cwd: path.join(work, 'project'), env: { ...env, ...extra }, log: path.join(work, 'vauban.log') });

  it('rollback makes the release before the live one live; promote the newest, or the one named; --list shows them', async () => {
    const back = await vauban(['rollback', MASTER]);
    expect(back.exitCode, tail(back)).toBe(0);
    expect(live()).toBe(`releases/${R2}`);
    expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs r2');
    expect(served('boot/web01.ipxe').toString()).toContain(`vauban.rootfs.sha256=${sha('rootfs r2')}`);
    expect(back.output).toMatch(new RegExp(`127\\.0\\.0\\.1:${sshd.port}: ${MASTER} release ${R2} \\(was ${R3}\\)`));
    const list = await vauban(['promote', '--list', MASTER]);
    expect(list.output).toContain(`${R2} (live), ${R3}`);
    expect((await vauban(['promote', MASTER])).exitCode).toBe(0);
    expect(live()).toBe(`releases/${R3}`);
    expect((await vauban(['promote', MASTER, R2])).exitCode).toBe(0);
    expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs r2');
  });

  it('a release that is not there, or nothing older to roll back to: one clear error, nothing switched', async () => {
    const missing = await vauban(['promote', MASTER, R1]);
    expect(missing.exitCode).toBe(1);
    expect(missing.output).toMatch(new RegExp(`has no release ${R1} of ${MASTER} \\(it has: ${R2}, ${R3}\\)`));
    const bad = await vauban(['promote', MASTER, '../../etc']);
    expect(bad.exitCode).toBe(1);
    expect(bad.output).toMatch(/'\.\.\/\.\.\/etc' is not a release name/);
    expect((await vauban(['rollback', MASTER])).output).toMatch(new RegExp(`no release older than ${R2}`));
    expect(live()).toBe(`releases/${R2}`);
  });

  it('two servers, the second read-only: promote fails, the first is switched back', async () => {
    // The second server: its own sshd in a mount namespace where UPLOAD_DIR is a read-only copy.
    const copy = path.join(work, 'pxe2');
    await sh('cp', ['-a', uploadDir, copy]);
    const key = path.join(work, 'upload-key');
    const second = await startSshd(path.join(work, 'sshd2'), [readFileSync(`${key}.pub`, 'utf8').trim()], {
      wrap: ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind -o ro "$0" "$1" && shift && exec "$@"', copy, uploadDir],
    });
    try {
      const run = await vauban(['promote', MASTER, R3], {
        UPLOAD_HOSTS_LIST: `ssh://127.0.0.1:${sshd.port} ssh://127.0.0.1:${second.port}`,
        UPLOAD_KNOWN_HOSTS: `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}\n[127.0.0.1]:${second.port} ${second.hostKeyPublic}`,
      });
      expect(run.exitCode, tail(run)).toBe(1);
      expect(run.output).toMatch(new RegExp(`switching ${MASTER} to ${R3} failed on ssh://127\\.0\\.0\\.1:${second.port}: .*[Rr]ead-only file system.*; switched back: ssh://127\\.0\\.0\\.1:${sshd.port} \\(back on ${R2}\\)`));
      expect(live()).toBe(`releases/${R2}`);
      expect(served(`${MASTER}/rootfs.tgz`).toString()).toBe('rootfs r2');
    } finally {
      await second.stop();
    }
  });

  it('two servers, the second one\'s disk full during the upload: one error naming it and the cause, no server switched, nothing staged left on either (issue 27)', async () => {
    // The second server: its own sshd in a mount namespace where UPLOAD_DIR is a copy on a tmpfs with about 8 MiB free.
    const copy = path.join(work, 'pxe3');
    await sh('cp', ['-a', uploadDir, copy]);
    const used = Number((await sh('du', ['-sb', copy])).split('\t')[0]);
    const size = `${Math.ceil(used / (1024 * 1024)) + 9}m`;
    const key = path.join(work, 'upload-key');
    const second = await startSshd(path.join(work, 'sshd3'), [readFileSync(`${key}.pub`, 'utf8').trim()], {
      wrap: ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', `mount -t tmpfs -o size=${size},mode=0755 vauban-test-full "$1" && cp -a "$0/." "$1/" && shift && exec "$@"`, copy, uploadDir],
    });
    try {
      const both = { ...env, UPLOAD_HOSTS_LIST: `ssh://127.0.0.1:${sshd.port} ssh://127.0.0.1:${second.port}`, UPLOAD_KNOWN_HOSTS: `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}\n[127.0.0.1]:${second.port} ${second.hostKeyPublic}` };
      const workDir = path.join(work, 'ssh-full');
      mkdirSync(workDir, { mode: 0o700 });
      const servers = await Promise.all(pxeTargets(both, workDir).map((target) => openSshServer({ target, dir: uploadDir, folders: [MASTER], runOptions: {} })));
      const { publishEverywhere } = await import('../src/pxe/publish-everywhere.js');
      const big = await file('rootfs.tgz', Buffer.alloc(16 * 1024 * 1024, 5));
      const full = new CleanupStack();
      const attempt = publishEverywhere(servers, { name: MASTER, release: release(30), files: [big], kernelVersion: undefined, bootFiles: [], group: 'www-data', keep: 3, runId: 'itest', cleanup: full });
      await expect(attempt).rejects.toThrow(new RegExp(`ssh://127\\.0\\.0\\.1:${second.port}: release ${release(30)} of ${MASTER} could not be staged: .*No space left on device.*; no server was switched \\(the copies staged on ssh://127\\.0\\.0\\.1:${sshd.port} removed\\)`));
      await full.unwind(() => undefined);
      expect(live()).toBe(`releases/${R2}`);
      // Each server as it was: the live release, no partial or staged copy of the release that failed.
      for (const server of servers) {
        const listed = (await server.script([`ls -a ${uploadDir}/${MASTER}/releases`, `readlink ${uploadDir}/${MASTER}/current`])).stdout.split('\n').filter((name) => name !== '' && name !== '.' && name !== '..');
        expect(listed.filter((name) => name.includes(release(30)))).toEqual([]);
        expect(listed.at(-1)).toBe(`releases/${R2}`);
      }
      // The full server's space is back: what the failed copy wrote is gone.
      expect(Number((await servers[1]?.script([`df --output=avail -B1 ${uploadDir} | tail -1`]))?.stdout.trim())).toBeGreaterThan(7 * 1024 * 1024);
    } finally {
      await second.stop();
    }
  });
});

describe('vauban serve (B6)', () => {
  let child: ResultPromise | undefined;
  let port = 0;
  afterAll(async () => {
    child?.kill('SIGTERM');
    await child?.catch(() => undefined);
  });

  function get(urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: urlPath, headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  }

  it('serves the server folder: by MAC, chain to the host\'s entry, whose files are fetched by ranges and match its pins', async () => {
    child = execa(process.execPath, [path.resolve('bin/vauban.js'), 'serve', '--dir', uploadDir, '--port', '0'], { env: { PATH: process.env.PATH ?? '', HOME: env.HOME as string }, extendEnv: false, all: true });
    port = await new Promise<number>((resolve, reject) => {
      let seen = '';
      child?.all?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /listening on port (\d+)/.exec(seen);
        if (match !== null) resolve(Number(match[1]));
      });
      child?.catch(reject);
    });
    const byMac = await get('/boot/by-mac/52-54-00-12-34-56.ipxe');
    expect(byMac.status).toBe(200);
    const chained = /^chain (\S+)$/m.exec(byMac.body.toString())?.[1];
    expect(chained).toBe('../web01.ipxe');
    const entry = (await get(path.posix.join('/boot/by-mac', chained as string))).body.toString();
    const kernel = entry.split('\n').find((line) => line.startsWith('kernel ')) as string;
    const params = new Map(kernel.split(' ').map((word) => [word.split('=')[0] as string, word.slice(word.indexOf('=') + 1)]));
    const url = (value: string) => value.replace(/^live:/, '').replace('${vauban-url}', '');
    for (const [download, pin] of [['root', 'vauban.rootfs.sha256'], ['live.updates', 'vauban.conffs.sha256']] as const) {
      const target = url(params.get(download) as string);
      const whole = await get(target, { Range: 'bytes=0-' });
      const length = Number(whole.headers['content-range']?.split('/')[1]);
      expect(whole.status).toBe(206);
      expect(whole.body.length).toBe(length);
      // In two ranges, as a resuming client would.
      const half = Math.floor(length / 2);
      const first = await get(target, { Range: `bytes=0-${half - 1}` });
      const second = await get(target, { Range: `bytes=${half}-` });
      expect(first.headers['content-length']).toBe(String(half));
      expect(sha(Buffer.concat([first.body, second.body]))).toBe(params.get(pin));
    }
    expect(url(params.get('root') as string)).toBe(`/${MASTER}/releases/${R2}/rootfs.tgz`);
    const vmlinuz = url(/^kernel (\S+)/.exec(kernel)?.[1] as string);
    expect((await get(vmlinuz)).body.toString()).toBe('kernel 6.1');
  });

  it('run as a non-root user, the server stays up and serves only regular files inside its folder: an unreadable file, a link out, a partial release, a temporary file, a FIFO; request paths printed escaped (issue 30)', async () => {
    // The server module as `vauban serve` runs it, as nobody: a copy where nobody can read it (it imports Node's modules only).
    const lab = mkdtempSync('/var/tmp/vauban-itest-serve-');
    try {
      chmodSync(lab, 0o755);
      const dir = path.join(lab, 'pxe');
      mkdirSync(path.join(dir, '.partial-r9'), { recursive: true, mode: 0o755 });
      writeFileSync(path.join(dir, 'ok.txt'), 'served', { mode: 0o644 });
      writeFileSync(path.join(dir, 'unreadable.tgz'), 'root only', { mode: 0o600 });
      writeFileSync(path.join(dir, '.partial-r9', 'rootfs.tgz'), 'half a rootfs', { mode: 0o644 });
      writeFileSync(path.join(dir, '.rootfs.tgz.vauban-run1'), 'a temporary', { mode: 0o644 });
      symlinkSync('/etc/passwd', path.join(dir, 'link-out'));
      symlinkSync('ok.txt', path.join(dir, 'link-in'));
      await sh('mkfifo', ['-m', '0644', path.join(dir, 'fifo')]);
      const module = path.join(lab, 'http-server.mjs');
      writeFileSync(module, readFileSync(path.resolve('dist/src/system/http-server.js')), { mode: 0o644 });
      const script = `import(${JSON.stringify(module)}).then(async ({ startStaticServer }) => { const server = await startStaticServer(${JSON.stringify(dir)}, { onRequest: (line) => console.log('request ' + line) }); console.log('listening on port ' + server.port); });`;
      const nobody = execa(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: lab, env: { PATH: '/usr/bin:/bin' }, extendEnv: false, all: true });
      let seen = '';
      try {
        port = await new Promise<number>((resolve, reject) => {
          nobody.all?.on('data', (chunk: Buffer) => {
            seen += chunk.toString();
            const match = /listening on port (\d+)/.exec(seen);
            if (match !== null) resolve(Number(match[1]));
          });
          nobody.catch(reject);
        });
        const answers: Record<string, number> = {};
        for (const urlPath of ['/unreadable.tgz', '/link-out', '/.partial-r9/rootfs.tgz', '/.rootfs.tgz.vauban-run1', '/fifo', '/%1b%5b31mred%07', '/link-in', '/ok.txt']) {
          answers[urlPath] = (await get(urlPath)).status;
        }
        expect(answers).toEqual({
          '/unreadable.tgz': 403, '/link-out': 403, '/.partial-r9/rootfs.tgz': 404, '/.rootfs.tgz.vauban-run1': 404, '/fifo': 404, '/%1b%5b31mred%07': 404, '/link-in': 200, '/ok.txt': 200,
        });
        expect((await get('/link-in')).body.toString()).toBe('served');
        expect(nobody.exitCode, 'still serving').toBeNull();
        expect(seen).toContain('request GET /unreadable.tgz (EACCES) 403');
        expect(seen).toContain('request GET /link-out (outside the folder) 403');
        expect(seen).toContain('request GET /\\x1b[31mred\\x07 404');
        expect(seen).not.toContain('\u001b');
      } finally {
        nobody.kill('SIGTERM');
        await nobody.catch(() => undefined);
      }
    } finally {
      rmSync(lab, { recursive: true, force: true });
    }
  });
});
