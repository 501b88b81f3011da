// Issue 16: every kind of base Debian publishes, made by the test bed from the
// fixture raw image, built into a master by the real `vauban` on a kernel
// without the iso9660 driver: live ISOs (plain and hybrid: MBR + GPT beside
// ISO 9660), with kernel + initramfs from each; qcow2; .raw.xz; .tar.xz
// holding disk.raw. Then files that are no usable base: one clear line each,
// nothing left behind. The operator's file is never written.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../src/base/prepare-base-file.js';
import { fixtureBaseImage, fixtureOtherBases, makeAnsibleRepo, type OtherBases } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { runVauban, tail, type VaubanRun } from './helpers/vauban.js';

const BIN = fileURLToPath(new URL('../bin/vauban.js', import.meta.url));

let work: string;
let cwd: string;
let log: string;
let env: Record<string, string>;
let bases: OtherBases;
/** The fixture raw image's size as vauban says it: what every kind holds, once made raw. */
let rawSize: string;
let before: HostState;
let imagesBefore: Set<string>;
/** Seconds from the start of mount_iso to the mounted base, per kind: the figure issue 16 asks for. */
const timings: Record<string, number> = {};

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function vauban(args: string[]): Promise<VaubanRun> {
  return runVauban('vauban', args, { cwd, env, log });
}

/** Nothing of the run is left: loop devices, mounts, containers, work folders. */
async function expectClean(): Promise<void> {
  const now = await readHostState();
  expect(now.loops).toEqual(before.loops);
  expect(now.mounts).toEqual(before.mounts);
  expect(now.containers).toEqual(before.containers);
  expect(readdirSync(work).filter((name) => /^vauban-[A-Za-z0-9]{6}$/.test(name))).toEqual([]);
}

/** /imginfo of a built image. */
async function imginfo(image: string): Promise<{ iso: string; stages: Array<Record<string, string>> }> {
  return yaml.load(await sh('docker', ['run', '--rm', image, 'cat', '/imginfo'])) as { iso: string; stages: Array<Record<string, string>> };
}

/** Builds a master from `file` and checks what every kind must give; returns the run. */
async function buildMaster(file: string, kind: string, options: { initramfs: boolean; describes: RegExp }): Promise<VaubanRun> {
  const name = uniqueName(`master-itest-${kind.replace(/\W/g, '')}`).toLowerCase();
  const sum = await sha256(file);
  const run = await vauban(['-f', file, '-n', name, '-i', options.initramfs ? 'yes' : 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml']);
  expect(run.exitCode, tail(run)).toBe(0);
  expect(run.output).toMatch(options.describes);
  const mounted = /<== mount_iso: \S+ done in ([\d.]+) s/.exec(run.output)?.[1];
  expect(mounted).toBeDefined();
  timings[kind] = Number(mounted);
  // /imginfo and the OS name come out as for a raw image.
  const info = await imginfo(name);
  expect(info.iso).toBe(path.basename(file));
  expect(info.stages[0]).toMatchObject({ playbook: 'pb_base.yml', hostname: name });
  expect(info.stages[0]?.source).toMatch(/^debian-12\.\d+\/iso$/);
  expect(await sh('docker', ['run', '--rm', name, 'cat', '/etc/vauban-fixture'])).toContain(`host=${name}`);
  expect(existsSync(path.join(cwd, 'rootfs.tgz'))).toBe(true);
  rmSync(path.join(cwd, 'rootfs.tgz'));
  if (options.initramfs) {
    for (const artifact of ['vmlinuz', 'initramfs.img']) {
      expect(statSync(path.join(cwd, artifact)).size, artifact).toBeGreaterThan(1024 * 1024);
      rmSync(path.join(cwd, artifact));
    }
  }
  // The operator's file is never written; nothing of the run is left.
  expect(await sha256(file)).toBe(sum);
  await expectClean();
  return run;
}

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  work = mkdtempSync('/var/tmp/vauban-itest-bases-');
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  mkdirSync(path.join(work, 'home'));
  log = path.join(work, 'vauban.log');
  const repo = await makeAnsibleRepo(work);
  // The work folders of the runs go under the test's folder, where expectClean looks for leftovers.
  env = { HOME: path.join(work, 'home'), ...repo.settings, VAULTED_SSHD_KEYS_KEY: 'vault-passphrase-bases-test', VAUBAN_WORK_DIR: work };
  const started = Date.now();
  bases = await fixtureOtherBases();
  rawSize = formatBytes(statSync(await fixtureBaseImage()).size);
  console.log(`other bases ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${path.dirname(bases.plainIso)}`);
}, 1_800_000);

afterAll(async () => {
  await removeNewImages(imagesBefore);
  console.log(`time to the mounted base, per kind (s): ${JSON.stringify(timings)}`);
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
  expect(await readHostState()).toEqual(before);
});

describe('live ISOs, on a kernel without the iso9660 driver', () => {
  it('the test bed has no iso9660 driver, and the hybrid ISO carries an MBR and a GPT', async () => {
    expect(await bash('cat /proc/filesystems')).not.toMatch(/\siso9660$/m);
    expect(await bash('head -c 520 "$1" | tail -c 10 | od -An -c', { args: [bases.hybridIso] })).toMatch(/U\s+252\s+E\s+F\s+I\s+P\s+A\s+R\s+T/);
    expect(await sh('sfdisk', ['--dump', bases.hybridIso])).toMatch(/type=ef/);
  });

  // The kernel and initramfs come from the mounted squashfs either way: built from one variant only (CI time).
  for (const variant of ['plain', 'hybrid'] as const) {
    it(`builds a master with one stage${variant === 'plain' ? ', kernel and initramfs' : ''} from the ${variant} live ISO`, async () => {
      const iso = variant === 'plain' ? bases.plainIso : bases.hybridIso;
      const run = await buildMaster(iso, `${variant} ISO`, {
        initramfs: variant === 'plain',
        describes: new RegExp(`base: ${path.basename(iso)} \\(live ISO, live/filesystem\\.squashfs at byte \\d+\\)`),
      });
      expect(run.output).not.toMatch(/iso9660/);
    });
  }
});

describe('qcow2 and compressed downloads, made raw once in the work folder', () => {
  const kinds: Array<{ kind: string; file: () => string; describes: RegExp; copy: RegExp }> = [
    { kind: 'qcow2', file: () => bases.qcow2, describes: /base: debian\.qcow2 \(qcow2 image\)/, copy: /qemu-img: converting debian\.qcow2 \(qcow2, [\d.]+ MiB\) to raw/ },
    { kind: 'raw.xz', file: () => bases.rawXz, describes: /base: debian\.raw\.xz \(raw disk image, xz-compressed\)/, copy: /xz: decompressing debian\.raw\.xz/ },
    { kind: 'tar.xz', file: () => bases.tarXz, describes: /base: debian\.tar\.xz \(tar archive holding disk\.raw, xz-compressed\)/, copy: /xz: decompressing disk\.raw out of debian\.tar\.xz/ },
  ];
  for (const { kind, file, describes, copy } of kinds) {
    it(`builds a master from the fixture as ${kind}`, async () => {
      const run = await buildMaster(file(), kind, { initramfs: false, describes });
      expect(run.output).toMatch(copy);
      // Its size (the fixture raw image's, which each kind holds) and time are said.
      expect(run.output).toMatch(new RegExp(`disk\\.raw: ${rawSize.replace('.', '\\.')} \\([\\d.]+ MiB on disk\\) in [\\d.]+ s`));
    });
  }
});

describe('interrupted while decompressing', () => {
  it('SIGINT during the xz decompression: exit within seconds, no decompressor left running, nothing left behind', async () => {
    // --no-cache: the xz kind's import of an earlier case would be reused, and nothing decompressed.
    const child = spawn(process.execPath, [BIN, '-f', bases.rawXz, '-n', uniqueName('master-itest-int').toLowerCase(), '-i', 'no', '-l', 'no', '-u', 'no', '--no-cache', 'pb_base.yml'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 300_000;
    while (!output.includes('xz: decompressing debian.raw.xz') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Let xz write for a moment, so the stop lands mid-stream.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sentAt = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    expect(code, output.slice(-2000)).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(15_000);
    // pgrep, run by this process (a shell would match its own arguments): 1 when it finds none; any other failure is no answer.
    const { execa } = await import('execa');
    const left = await execa('pgrep', ['-f', '--', bases.rawXz], { reject: false });
    expect(left.exitCode, left.stdout).toBe(1);
    await expectClean();
  });
});

describe('files that are no usable base: one clear line, exit 1, nothing left behind', () => {
  async function expectRefused(file: string, message: RegExp): Promise<void> {
    const images = await imageIds();
    const run = await vauban(['-f', file, '-n', uniqueName('master-itest-bad').toLowerCase(), '-i', 'yes', '-l', 'no', '-u', 'no', 'pb_base.yml']);
    expect(run.exitCode, tail(run)).toBe(1);
    expect(run.output).toMatch(message);
    expect(run.output.split('\n').filter((line) => /error:|ERROR:/.test(line))).toHaveLength(1);
    expect(run.output).not.toMatch(/\n\s+at /);
    expect(await imageIds()).toEqual(images);
    for (const artifact of ['rootfs.tgz', 'vmlinuz', 'initramfs.img']) expect(existsSync(path.join(cwd, artifact)), artifact).toBe(false);
    await expectClean();
  }

  it('a truncated ISO', async () => {
    const file = path.join(work, 'truncated.iso');
    copyFileSync(bases.plainIso, file);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await expectRefused(file, /truncated\.iso is an unusable ISO 9660 image: truncated: its volume spans \d+ bytes, the file only \d+/);
  });

  it('an ISO without filesystem.squashfs', async () => {
    const tree = path.join(work, 'not-live');
    mkdirSync(path.join(tree, 'live'), { recursive: true });
    writeFileSync(path.join(tree, 'live', 'vmlinuz'), 'not a kernel\n');
    const file = path.join(work, 'not-live.iso');
    await sh('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', file, tree]);
    await expectRefused(file, /not-live\.iso is an ISO 9660 image without a filesystem\.squashfs .*: not a live ISO/);
  });

  it('a random file', async () => {
    const file = path.join(work, 'random.img');
    await bash('head -c 4194304 /dev/urandom > "$1"', { args: [file] });
    await expectRefused(file, /random\.img is not a base vauban can use: its content is none of the accepted kinds\nhint: accepted: a raw disk image .*a live ISO .*qcow2.*xz or zstd.*disk\.raw/);
  });
});
