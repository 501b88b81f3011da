// Releases on a PXE server folder (B14), with the real shell tools (sh, ln,
// mv, sha256sum) on a local folder: the same scripts the upload sends over
// ssh. test/releases.test.ts runs them against a real sshd with sudo.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CleanupStack } from '../system/cleanup.js';
import { run } from '../system/run.js';
import { releaseName } from './layout.js';
import { linkCommand } from './live-links.js';
import { publishRelease, type PublishInput } from './publish-release.js';
import { openLocalServer, type PxeServer } from './pxe-server.js';
import { switchRelease } from './switch-release.js';

let work: string;
let dir: string;
let server: PxeServer;
let cleanup: CleanupStack;

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const release = (minute: number) => releaseName(new Date(Date.UTC(2026, 0, 20, 14, minute)), 'test');
const R1 = release(1);
const R2 = release(2);
const R3 = release(3);

function local(name: string, content: string): { local: string; sha256: string } {
  const file = path.join(work, 'artifacts', name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return { local: file, sha256: sha(content) };
}

function input(overrides: Partial<PublishInput>): PublishInput {
  return { name: 'm', release: R1, files: [], kernelVersion: undefined, bootFiles: [], group: undefined, keep: 3, runId: 'test', cleanup, ...overrides };
}

const read = (relative: string) => readFileSync(path.join(dir, relative), 'utf8');

/** The kernel line of an entry, with ${vauban-url} set to the folder: what iPXE would fetch. */
function entryOf(relative: string): { kernel: string; params: Map<string, string> } {
  const kernel = read(relative).split('\n').find((line) => line.startsWith('kernel ')) ?? '';
  const params = new Map(kernel.split(' ').slice(1).map((word) => [word.split('=')[0] as string, word.slice(word.indexOf('=') + 1)]));
  return { kernel, params };
}

function served(url: string): string {
  return read(url.replace('live:', '').replace('${vauban-url}/', ''));
}

beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'vauban-releases-'));
  dir = path.join(work, 'pxe');
  mkdirSync(path.join(dir, 'linux'), { recursive: true });
  writeFileSync(path.join(dir, 'linux', 'vmlinuz-6.1'), 'kernel 6.1');
  writeFileSync(path.join(dir, 'linux', 'initramfs.img-6.1'), 'initramfs 6.1');
  writeFileSync(path.join(dir, 'linux', 'vmlinuz-6.2'), 'kernel 6.2');
  writeFileSync(path.join(dir, 'linux', 'initramfs.img-6.2'), 'initramfs 6.2');
  server = openLocalServer(dir);
  cleanup = new CleanupStack();
});

afterEach(async () => {
  await cleanup.unwind(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** The flat layout of vauban.sh (before releases). */
function flatLayout(): void {
  mkdirSync(path.join(dir, 'm'));
  writeFileSync(path.join(dir, 'm', 'rootfs.tgz'), 'rootfs v1');
  writeFileSync(path.join(dir, 'm', 'conffs-web01.tgz'), 'conffs web01 v1');
  symlinkSync('../linux/vmlinuz-6.1', path.join(dir, 'm', 'vmlinuz'));
  symlinkSync('../linux/initramfs.img-6.1', path.join(dir, 'm', 'initramfs.img'));
}

describe('a release (B14)', () => {
  it('from the flat layout: a conffs-only upload keeps the rootfs and kernel (hard links), the article\'s paths go through current', async () => {
    flatLayout();
    const inode = statSync(path.join(dir, 'm', 'rootfs.tgz')).ino;
    const web01 = local('conffs-web01.tgz', 'conffs web01 v2');
    const web02 = local('conffs-web02.tgz', 'conffs web02 v1');
    const published = await publishRelease(server, input({
      files: [{ member: 'conffs-web01.tgz', ...web01 }, { member: 'conffs-web02.tgz', ...web02 }],
      bootFiles: [{ path: 'boot/by-mac/52-54-00-12-34-56.ipxe', content: '#!ipxe\nchain ../web01.ipxe\n' }],
    }));
    expect(published).toEqual({ release: R1, previous: undefined, inherited: ['initramfs.img', 'rootfs.tgz', 'vmlinuz'], unchanged: [], entries: ['web01', 'web02'], pruned: [] });
    expect(readlinkSync(path.join(dir, 'm', 'current'))).toBe(`releases/${R1}`);
    // The rootfs is the same file (no copy), reached through current.
    expect(statSync(path.join(dir, 'm', 'releases', R1, 'rootfs.tgz')).ino).toBe(inode);
    for (const [member, content] of [['rootfs.tgz', 'rootfs v1'], ['conffs-web01.tgz', 'conffs web01 v2'], ['conffs-web02.tgz', 'conffs web02 v1'], ['vmlinuz', 'kernel 6.1'], ['initramfs.img', 'initramfs 6.1']]) {
      expect(lstatSync(path.join(dir, 'm', member as string)).isSymbolicLink(), member).toBe(true);
      expect(readlinkSync(path.join(dir, 'm', member as string))).toBe(`current/${member}`);
      expect(read(`m/${member}`), member).toBe(content);
    }
    expect(readlinkSync(path.join(dir, 'm', 'releases', R1, 'vmlinuz'))).toBe('../../../linux/vmlinuz-6.1');
    // The entries pin exactly what is served.
    const entry = entryOf('boot/web01.ipxe');
    expect(readlinkSync(path.join(dir, 'boot', 'web01.ipxe'))).toBe('../m/current/web01.ipxe');
    expect(sha(served(entry.params.get('root') as string))).toBe(entry.params.get('vauban.rootfs.sha256'));
    expect(sha(served(entry.params.get('live.updates') as string))).toBe(entry.params.get('vauban.conffs.sha256'));
    expect(entry.params.get('live.updates')).toBe(`\${vauban-url}/m/releases/${R1}/conffs-web01.tgz`);
    expect(read('boot/by-mac/52-54-00-12-34-56.ipxe')).toBe('#!ipxe\nchain ../web01.ipxe\n');
    // SHA256SUMS is what sha256sum -c reads.
    expect((await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path.join(dir, 'm', 'releases', R1) })).stdout).toMatch(/rootfs\.tgz: OK[\s\S]*web02\.ipxe: OK/);
    expect(statSync(path.join(dir, 'm', 'releases', R1, 'conffs-web02.tgz')).mode & 0o777).toBe(0o640);
    expect(existsSync(path.join(dir, 'm', 'releases', `.partial-${R1}`))).toBe(false);
  });

  it('a new rootfs: a new release with the conffs of the live one; the previous release is untouched; past RELEASES_KEEP the oldest goes', async () => {
    flatLayout();
    await publishRelease(server, input({ release: R1, files: [{ member: 'conffs-web01.tgz', ...local('c1', 'conffs web01 v2') }] }));
    const v2 = local('rootfs-v2', 'rootfs v2');
    const second = await publishRelease(server, input({ release: R2, files: [{ member: 'rootfs.tgz', ...v2 }], kernelVersion: '6.2', keep: 2 }));
    expect(second.previous).toBe(R1);
    expect(second.inherited).toEqual(['conffs-web01.tgz']);
    expect(read('m/rootfs.tgz')).toBe('rootfs v2');
    expect(read('m/vmlinuz')).toBe('kernel 6.2');
    expect(read(`m/releases/${R1}/rootfs.tgz`)).toBe('rootfs v1');
    expect(read(`m/releases/${R1}/vmlinuz`)).toBe('kernel 6.1');
    expect(statSync(path.join(dir, 'm', 'releases', R2, 'conffs-web01.tgz')).ino).toBe(statSync(path.join(dir, 'm', 'releases', R1, 'conffs-web01.tgz')).ino);
    expect(entryOf('boot/web01.ipxe').params.get('vauban.rootfs.sha256')).toBe(v2.sha256);
    expect(entryOf(`m/releases/${R1}/web01.ipxe`).params.get('vauban.rootfs.sha256')).toBe(sha('rootfs v1'));
    const third = await publishRelease(server, input({ release: R3, files: [{ member: 'rootfs.tgz', ...local('rootfs-v3', 'rootfs v3') }], keep: 2 }));
    expect(third.pruned).toEqual([R1]);
    expect(existsSync(path.join(dir, 'm', 'releases', R1))).toBe(false);
    expect(read('m/vmlinuz')).toBe('kernel 6.2');
  });

  it('a file the live release already has with the same sha256 is linked from it, not sent (issue 12)', async () => {
    flatLayout();
    const rootfs = local('r1', 'rootfs same');
    const web01 = local('c1', 'conffs web01 same');
    await publishRelease(server, input({ release: R1, files: [{ member: 'rootfs.tgz', ...rootfs }, { member: 'conffs-web01.tgz', ...web01 }], kernelVersion: '6.1' }));
    const web01b = local('c2', 'conffs web01 changed');
    const sent: string[] = [];
    const counting = { ...server, send: async (from: string, to: string) => { sent.push(path.basename(to)); await server.send(from, to); } };
    const second = await publishRelease(counting, input({ release: R2, files: [{ member: 'rootfs.tgz', ...rootfs }, { member: 'conffs-web01.tgz', ...web01b }], kernelVersion: '6.1' }));
    expect(second.unchanged).toEqual(['rootfs.tgz']);
    expect(sent).toEqual(['conffs-web01.tgz']);
    expect(statSync(path.join(dir, 'm', 'releases', R2, 'rootfs.tgz')).ino).toBe(statSync(path.join(dir, 'm', 'releases', R1, 'rootfs.tgz')).ino);
    expect(read('m/conffs-web01.tgz')).toBe('conffs web01 changed');
    expect((await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path.join(dir, 'm', 'releases', R2) })).stdout).toMatch(/rootfs\.tgz: OK/);
  });

  it('a copy that does not arrive whole fails the release and leaves current as it was', async () => {
    flatLayout();
    await publishRelease(server, input({ release: R1, files: [{ member: 'rootfs.tgz', ...local('r', 'rootfs v1b') }] }));
    const lying = { ...local('r2', 'rootfs v2'), sha256: sha('something else') };
    await expect(publishRelease(server, input({ release: R2, files: [{ member: 'rootfs.tgz', ...lying }] }))).rejects.toThrow(/does not match/);
    await cleanup.unwind(() => undefined);
    expect(readlinkSync(path.join(dir, 'm', 'current'))).toBe(`releases/${R1}`);
    expect(read('m/rootfs.tgz')).toBe('rootfs v1b');
    expect(existsSync(path.join(dir, 'm', 'releases', `.partial-${R2}`))).toBe(false);
  });

  it("a dead run's partial release is removed by the next release made live, and said; staged shares are not touched", async () => {
    flatLayout();
    await publishRelease(server, input({ release: R1, files: [{ member: 'rootfs.tgz', ...local('r', 'rootfs v1b') }] }));
    // What a run killed outright leaves: its partial release; and a share of a release staged for promote.
    mkdirSync(path.join(dir, 'm', 'releases', `.partial-${R2}`));
    writeFileSync(path.join(dir, 'm', 'releases', `.partial-${R2}`, 'rootfs.tgz'), 'half');
    mkdirSync(path.join(dir, 'm', 'releases', '.shares-R9', '1-of-2'), { recursive: true });
    const published = await publishRelease(server, input({ release: R3, files: [{ member: 'conffs-web01.tgz', ...local('c', 'conffs web01 v3') }] }));
    expect(published.pruned).toEqual([`.partial-${R2}`]);
    expect(readdirSync(path.join(dir, 'm', 'releases')).sort()).toEqual(['.shares-R9', R1, R3]);
  });
});

describe('the link switch', () => {
  it('fails the script when the link cannot be made (sh -e must see it)', async () => {
    writeFileSync(path.join(dir, 'not-a-folder'), '');
    await expect(server.script([linkCommand(path.join(dir, 'not-a-folder', 'current'), 'releases/r1', 'test'), 'echo not reached'])).rejects.toThrow(/Not a directory/);
    await server.script([linkCommand(path.join(dir, 'current'), 'releases/r1', 'test')]);
    expect(readlinkSync(path.join(dir, 'current'))).toBe('releases/r1');
    expect(readdirSync(dir).filter((name) => name.includes('vauban-'))).toEqual([]);
  });
});

describe('promote and rollback (B14)', () => {
  async function threeReleases(): Promise<void> {
    flatLayout();
    for (const [index, name] of [R1, R2, R3].entries()) {
      await publishRelease(server, input({ release: name, files: [{ member: 'rootfs.tgz', ...local(`r${index}`, `rootfs ${name}`) }] }));
    }
  }

  it('rollback goes to the release before the live one; promote to the newest, or to the one named', async () => {
    await threeReleases();
    expect((await switchRelease([server], 'm', { kind: 'rollback' }, 'test')).release).toBe(R2);
    expect(read('m/rootfs.tgz')).toBe(`rootfs ${R2}`);
    expect(entryOf('boot/web01.ipxe').params.get('vauban.rootfs.sha256')).toBe(sha(`rootfs ${R2}`));
    expect((await switchRelease([server], 'm', { kind: 'rollback' }, 'test')).release).toBe(R1);
    await expect(switchRelease([server], 'm', { kind: 'rollback' }, 'test')).rejects.toThrow(/no release older than/);
    expect((await switchRelease([server], 'm', { kind: 'promote' }, 'test')).release).toBe(R3);
    expect((await switchRelease([server], 'm', { kind: 'promote', release: R2 }, 'test')).release).toBe(R2);
    await expect(switchRelease([server], 'm', { kind: 'promote', release: 'nope' }, 'test')).rejects.toThrow(/has no release nope/);
    expect(read('m/rootfs.tgz')).toBe(`rootfs ${R2}`);
  });

  it('when one server fails, those already switched are switched back and the command fails', async () => {
    await threeReleases();
    // A second server whose switch fails (as a full or read-only disk would make it).
    const broken: PxeServer = {
      ...server,
      name: 'broken',
      script: (lines, options) => (lines.some((line) => line.includes('/current')) ? Promise.reject(new Error('mv: Read-only file system')) : server.script(lines, options)),
    };
    await expect(switchRelease([server, broken], 'm', { kind: 'rollback' }, 'test')).rejects.toThrow(
      new RegExp(`switching m to ${R2} failed on broken: mv: Read-only file system; switched back: .* \\(back on ${R3}\\)`),
    );
    expect(readlinkSync(path.join(dir, 'm', 'current'))).toBe(`releases/${R3}`);
  });
});

describe('a release on several servers: staged on all, live on all or on none (issue 30)', () => {
  let dir2: string;
  let second: PxeServer;
  beforeEach(async () => {
    dir2 = path.join(work, 'pxe2');
    mkdirSync(dir2);
    second = openLocalServer(dir2);
    // R1 live on both.
    for (const one of [server, second]) await publishRelease(one, input({ release: R1, files: [{ member: 'rootfs.tgz', ...local('r1', 'rootfs R1') }] }));
  });
  const liveOn = (folder: string) => readlinkSync(path.join(folder, 'm', 'current'));
  const releasesOn = (folder: string) => readdirSync(path.join(folder, 'm', 'releases')).sort();
  const r2 = () => input({ release: R2, files: [{ member: 'rootfs.tgz', ...local('r2', 'rootfs R2') }] });

  it('both servers stage it, then both switch', async () => {
    const { publishEverywhere } = await import('./publish-everywhere.js');
    const staged: string[] = [];
    const results = await publishEverywhere([server, second], r2(), { onStaging: (name) => staged.push(`${name}: ${liveOn(name)}`) });
    // The second was staged while the first still served R1: nothing live before both were complete.
    expect(staged).toEqual([`${dir}: releases/${R1}`, `${dir2}: releases/${R1}`]);
    expect(results.map((one) => [one.server, one.published.previous])).toEqual([[dir, R1], [dir2, R1]]);
    for (const folder of [dir, dir2]) {
      expect(liveOn(folder)).toBe(`releases/${R2}`);
      expect(readFileSync(path.join(folder, 'm', 'rootfs.tgz'), 'utf8')).toBe('rootfs R2');
    }
  });

  it('a server that fails to stage it: no server switched, the copy staged on the other removed', async () => {
    const { publishEverywhere } = await import('./publish-everywhere.js');
    const full: PxeServer = { ...second, name: 'full', send: () => Promise.reject(new Error('tee: write error: No space left on device')) };
    await expect(publishEverywhere([server, full], r2())).rejects.toThrow(
      `full: release ${R2} of m could not be staged: tee: write error: No space left on device; no server was switched (the copies staged on ${dir} removed)`,
    );
    for (const folder of [dir, dir2]) {
      expect(liveOn(folder)).toBe(`releases/${R1}`);
      expect(releasesOn(folder)).toEqual([R1]);
    }
  });

  it('a server that fails to switch: the other switched back, the release removed from both', async () => {
    const { publishEverywhere } = await import('./publish-everywhere.js');
    const readOnly: PxeServer = {
      ...second,
      name: 'read-only',
      script: (lines, options) => (lines.some((line) => line.includes('/current') && line.includes(R2)) ? Promise.reject(new Error('mv: Read-only file system')) : second.script(lines, options)),
    };
    await expect(publishEverywhere([server, readOnly], r2())).rejects.toThrow(new RegExp(`switching m to ${R2} failed on read-only: mv: Read-only file system; switched back: .*back on ${R1}`));
    for (const folder of [dir, dir2]) {
      expect(liveOn(folder)).toBe(`releases/${R1}`);
      expect(releasesOn(folder)).toEqual([R1]);
    }
    expect(readFileSync(path.join(dir, 'm', 'rootfs.tgz'), 'utf8')).toBe('rootfs R1');
  });

  it('two publishes of one master at once: the second waits for the first\'s lock, then keeps its files (issue 30)', async () => {
    const { publishEverywhere } = await import('./publish-everywhere.js');
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const slow: PxeServer = { ...server, send: async (file, to, options) => { await gate; await server.send(file, to, options); } };
    const first = publishEverywhere([slow], input({ release: R2, files: [{ member: 'conffs-web01.tgz', ...local('c1', 'conffs web01') }] }));
    while (!existsSync(path.join(dir, 'm', 'releases', `.partial-${R2}`))) await new Promise((resolve) => setTimeout(resolve, 20));
    const waited: string[] = [];
    const second = publishEverywhere([server], input({ release: R3, files: [{ member: 'conffs-web02.tgz', ...local('c2', 'conffs web02') }] }), { onWaiting: (name) => waited.push(name) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(waited).toEqual([dir]);
    expect(existsSync(path.join(dir, 'm', 'releases', `.partial-${R3}`))).toBe(false);
    letGo();
    await first;
    await second;
    expect(liveOn(dir)).toBe(`releases/${R3}`);
    // R3 inherited from R2, live when it staged: web01's conffs is not lost.
    expect(readdirSync(path.join(dir, 'm', 'releases', R3)).sort()).toEqual(['SHA256SUMS', 'conffs-web01.tgz', 'conffs-web02.tgz', 'rootfs.tgz', 'web01.ipxe', 'web02.ipxe']);
  });
});

describe('the kernel files belong to their release (issue 30)', () => {
  const kernelRelease = (minute: number, initramfs: string) =>
    input({
      release: release(minute),
      files: [
        { member: 'vmlinuz', ...local(`k${minute}`, 'kernel 6.3') },
        { member: 'initramfs.img', ...local(`i${minute}`, initramfs) },
        { member: 'rootfs.tgz', ...local(`r${minute}`, 'rootfs with 6.3') },
      ],
      linuxCopies: [
        { member: 'vmlinuz', path: 'linux/vmlinuz-6.3' },
        { member: 'initramfs.img', path: 'linux/initramfs.img-6.3' },
      ],
    });

  it('a rebuilt initramfs of the same kernel version is a new release: the one booted before keeps its bytes, rollback restores them', async () => {
    await publishRelease(server, kernelRelease(1, 'initramfs 6.3, first dracut.conf'));
    await publishRelease(server, kernelRelease(2, 'initramfs 6.3, second dracut.conf'));
    // Each release holds its own files (the unchanged vmlinuz linked, not copied); linux/ has the live one's.
    expect(lstatSync(path.join(dir, 'm', 'releases', R1, 'initramfs.img')).isFile()).toBe(true);
    expect(read(`m/releases/${R1}/initramfs.img`)).toBe('initramfs 6.3, first dracut.conf');
    expect(read(`m/releases/${R2}/initramfs.img`)).toBe('initramfs 6.3, second dracut.conf');
    expect(statSync(path.join(dir, 'm', 'releases', R1, 'vmlinuz')).ino).toBe(statSync(path.join(dir, 'm', 'releases', R2, 'vmlinuz')).ino);
    expect(read('linux/initramfs.img-6.3')).toBe('initramfs 6.3, second dracut.conf');
    expect(statSync(path.join(dir, 'linux', 'initramfs.img-6.3')).ino).toBe(statSync(path.join(dir, 'm', 'releases', R2, 'initramfs.img')).ino);
    expect(read(`m/releases/${R2}/SHA256SUMS`)).toContain(`${sha('initramfs 6.3, second dracut.conf')}  initramfs.img`);
    expect((await switchRelease([server], 'm', { kind: 'rollback' }, 'test')).release).toBe(R1);
    expect(read('m/initramfs.img')).toBe('initramfs 6.3, first dracut.conf');
  });

  it('a rootfs-only release takes the shared kernel files as they are then (hard links), not a link that a later upload would change', async () => {
    mkdirSync(path.join(dir, 'm'), { recursive: true });
    await publishRelease(server, input({ release: R1, files: [{ member: 'rootfs.tgz', ...local('r1', 'rootfs on 6.1') }], kernelVersion: '6.1' }));
    expect(lstatSync(path.join(dir, 'm', 'releases', R1, 'vmlinuz')).isFile()).toBe(true);
    expect(read(`m/releases/${R1}/SHA256SUMS`)).toContain(`${sha('initramfs 6.1')}  initramfs.img`);
    // Without the shared file, a link to where it will be.
    await publishRelease(server, input({ release: R2, files: [{ member: 'rootfs.tgz', ...local('r2', 'rootfs on 6.9') }], kernelVersion: '6.9' }));
    expect(readlinkSync(path.join(dir, 'm', 'releases', R2, 'vmlinuz'))).toBe('../../../linux/vmlinuz-6.9');
  });
});


describe('a signed release (issue 30, B19)', () => {
  it('carries SHA256SUMS.sig, which gpgv checks with the project key; a release inheriting from it re-checks the live signature, and refuses forged sums', async () => {
    const { createProjectKey } = await import('../vault/project-key.js');
    const signer = await createProjectKey(path.join(work, 'vault'), 'a passphrase');
    const rootfs = { member: 'rootfs.tgz', ...local('rootfs.tgz', 'rootfs v1') };
    const web01 = { member: 'conffs-web01.tgz', ...local('conffs-web01.tgz', 'conffs web01 v1') };
    await publishRelease(server, input({ release: R1, files: [rootfs, web01], kernelVersion: '6.1', signer }));
    const folder = path.join(dir, 'm', 'releases', R1);
    writeFileSync(path.join(work, 'key.gpg'), signer.publicKeyring);
    mkdirSync(path.join(work, 'gnupg'), { mode: 0o700 });
    const gpgv = (release: string) => run('gpgv', ['--homedir', path.join(work, 'gnupg'), '--keyring', path.join(work, 'key.gpg'), path.join(dir, 'm', 'releases', release, 'SHA256SUMS.sig'), path.join(dir, 'm', 'releases', release, 'SHA256SUMS')], { allowFailure: true });
    expect((await gpgv(R1)).exitCode).toBe(0);
    expect(read(`m/releases/${R1}/SHA256SUMS`)).toContain(`${web01.sha256}  conffs-web01.tgz`);
    // R2 changes web01's conffs only: the rootfs' sum comes from R1's signed SHA256SUMS, checked first.
    const web01v2 = { member: 'conffs-web01.tgz', ...local('conffs-web01-v2.tgz', 'conffs web01 v2') };
    const warnings: string[] = [];
    const r2 = await publishRelease(server, input({ release: R2, files: [web01v2], kernelVersion: '6.1', signer, onWarning: (text) => warnings.push(text) }));
    expect(r2.inherited).toContain('rootfs.tgz');
    expect(warnings).toEqual([]);
    expect((await gpgv(R2)).exitCode).toBe(0);
    // A writer of the server swaps R2's rootfs and puts its sum in SHA256SUMS: the next release would sign that sum again. Refused.
    const r2Folder = path.join(dir, 'm', 'releases', R2);
    rmSync(path.join(r2Folder, 'rootfs.tgz'));
    writeFileSync(path.join(r2Folder, 'rootfs.tgz'), 'rootfs of someone else');
    writeFileSync(path.join(r2Folder, 'SHA256SUMS'), read(`m/releases/${R2}/SHA256SUMS`).replace(rootfs.sha256, sha('rootfs of someone else')));
    expect((await gpgv(R2)).exitCode).not.toBe(0);
    const web01v3 = { member: 'conffs-web01.tgz', ...local('conffs-web01-v3.tgz', 'conffs web01 v3') };
    await expect(publishRelease(server, input({ release: R3, files: [web01v3], kernelVersion: '6.1', signer }))).rejects.toThrow(
      `${dir}: the SHA256SUMS of release ${R2} of m does not carry the project's signature: changed on the server since it was published; nothing of it is signed again`,
    );
    expect(readlinkSync(path.join(dir, 'm', 'current'))).toBe(`releases/${R2}`);
    expect(existsSync(path.join(dir, 'm', 'releases', R3))).toBe(false);
    expect(existsSync(folder)).toBe(true);
  });

  it('a run that cannot sign does not put an unsigned release after a signed one (its initramfs would refuse it): nothing staged, current unchanged', async () => {
    const { createProjectKey } = await import('../vault/project-key.js');
    const signer = await createProjectKey(path.join(work, 'vault'), 'a passphrase');
    await publishRelease(server, input({ release: R1, files: [{ member: 'rootfs.tgz', ...local('rootfs.tgz', 'rootfs v1') }], kernelVersion: '6.1', signer }));
    await expect(publishRelease(server, input({ release: R2, files: [{ member: 'conffs-web01.tgz', ...local('conffs-web01.tgz', 'conffs web01 v1') }], kernelVersion: '6.1' }))).rejects.toThrow(
      `${dir}: the live release ${R1} of m is signed with the project's key, and this run cannot sign: an unsigned release would not boot`,
    );
    expect(readlinkSync(path.join(dir, 'm', 'current'))).toBe(`releases/${R1}`);
    expect(readdirSync(path.join(dir, 'm', 'releases'))).toEqual([R1]);
  });

  it('a live release made before signing began is inherited from, said once; the new release is signed', async () => {
    const { createProjectKey } = await import('../vault/project-key.js');
    const signer = await createProjectKey(path.join(work, 'vault'), 'a passphrase');
    await publishRelease(server, input({ release: R1, files: [{ member: 'rootfs.tgz', ...local('rootfs.tgz', 'rootfs v1') }], kernelVersion: '6.1' }));
    expect(existsSync(path.join(dir, 'm', 'releases', R1, 'SHA256SUMS.sig'))).toBe(false);
    const warnings: string[] = [];
    await publishRelease(server, input({ release: R2, files: [{ member: 'conffs-web01.tgz', ...local('conffs-web01.tgz', 'conffs web01 v1') }], kernelVersion: '6.1', signer, onWarning: (text) => warnings.push(text) }));
    expect(warnings).toEqual([`${dir}: release ${R1} of m is not signed (made before releases were): the sums of what this release keeps from it are taken from its SHA256SUMS`]);
    const sums = read(`m/releases/${R2}/SHA256SUMS`);
    expect(await signer.verify(sums, readFileSync(path.join(dir, 'm', 'releases', R2, 'SHA256SUMS.sig')))).toBe(true);
  });
});
