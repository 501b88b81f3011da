// Issue 15, item 1: the README's two set-up commands, `npm run demo` and
// `npm test`, work as root without sudo (a fresh Debian has none), and through
// sudo for a non-root user. The demo is asked for its dry run both ways, then
// built for real as root (issue 27: Debian debootstrapped from the mirror, the
// example repository applied: the --debian-release path), the tests for one
// unit file: what is proven is that each command starts and runs vauban from
// this checkout, either way, and that the demo makes what the README says.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { createPxeUser, type PxeUser } from './helpers/pxe-user.js';
import { sh, uniqueName } from './helpers/sh.js';

const REPO = fileURLToPath(new URL('../', import.meta.url)).replace(/\/$/, '');
const DEMO_DIR = path.join(REPO, '.demo');
const DEMO_PLAN = ['--', '--dry-run'];
const ONE_UNIT_FILE = ['--', '--project', 'unit', 'src/model/image-name.test.ts'];

let user: PxeUser;
let demoExisted: boolean;
let imagesBefore: Set<string>;
let hostBefore: HostState;

/** A command as root, from the checkout, with a plain environment. */
async function asRoot(args: string[]) {
  const result = await execa('npm', args, { cwd: REPO, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' }, extendEnv: false, reject: false, all: true, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, output: String(result.all) };
}

/** The same command as the README says a non-root user types it: `sudo npm ...`, in a login shell of that user. */
async function throughSudo(args: string[]) {
  const command = `cd ${REPO} && sudo -n npm ${args.map((arg) => `'${arg}'`).join(' ')}`;
  const result = await execa('su', ['--login', user.name, '--command', command], { reject: false, all: true, stdin: 'ignore', extendEnv: false, env: { PATH: '/usr/bin:/bin' } });
  return { exitCode: result.exitCode ?? -1, output: String(result.all) };
}

beforeAll(async () => {
  demoExisted = existsSync(DEMO_DIR);
  imagesBefore = await imageIds();
  hostBefore = await readHostState();
  user = await createPxeUser(uniqueName('vbsetup').toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 24));
}, 120_000);

afterAll(async () => {
  await user?.remove();
  await removeNewImages(imagesBefore);
  if (!demoExisted) rmSync(DEMO_DIR, { recursive: true, force: true });
  expect(await readHostState()).toEqual(hostBefore);
});

describe('the README\'s set-up commands (issue 15, item 1)', () => {
  it('npm run demo, as root without sudo: installs what is missing (nothing here) and plans master-demo', async () => {
    const run = await asRoot(['run', 'demo', ...DEMO_PLAN]);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.output).toMatch(/master-demo/);
    expect(run.output).toMatch(/debootstrap|bootstrap_fs/);
  }, 600_000);

  it('sudo npm run demo, as a non-root user: the same plan', async () => {
    const run = await throughSudo(['run', 'demo', ...DEMO_PLAN]);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.output).toMatch(/master-demo/);
    expect(run.output).toMatch(/debootstrap|bootstrap_fs/);
  }, 600_000);

  it('the user without sudo is refused by install-deps with one clear line', async () => {
    const result = await execa('su', ['--login', user.name, '--command', `cd ${REPO} && npm run demo -- --dry-run`], { reject: false, all: true, stdin: 'ignore', extendEnv: false, env: { PATH: '/usr/bin:/bin' } });
    expect(result.exitCode).not.toBe(0);
    expect(String(result.all)).toMatch(/run me as root \(sudo /);
  }, 120_000);

  it('npm run demo builds master-demo for real: Debian bookworm debootstrapped from the mirror, the example repository applied, rootfs.tgz in .demo/', async () => {
    const run = await asRoot(['run', 'demo']);
    expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    expect(run.output).toMatch(/<== mount_iso: debootstrap Debian bookworm done/);
    expect(run.output).toMatch(/demo master built: .*\.demo\/rootfs\.tgz \(docker image master-demo\)/);
    const dir = mkdtempSync(path.join(DEMO_DIR, 'unpacked-'));
    try {
      await sh('tar', ['-xf', path.join(DEMO_DIR, 'rootfs.tgz'), '-C', dir]);
      expect(readdirSync(dir)).toEqual(['rootfs.img']);
      await sh('unsquashfs', ['-q', '-n', '-d', path.join(dir, 'root'), path.join(dir, 'rootfs.img')]);
      const root = path.join(dir, 'root');
      const imginfo = yaml.load(readFileSync(path.join(root, 'imginfo'), 'utf8')) as { iso: string; stages: Array<Record<string, string>> };
      expect(imginfo.iso).toBe('debootstrap-bookworm');
      expect(imginfo.stages.map((stage) => [stage.playbook, stage.hostname])).toEqual([['pb_base.yml', 'master-demo']]);
      // What examples/ansible's pb_base.yml does: its packages, its user, its motd.
      expect(readFileSync(path.join(root, 'etc/motd'), 'utf8')).toMatch(/master-demo/);
      expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).toMatch(/^ops:/m);
      expect(existsSync(path.join(root, 'usr/bin/vim.tiny'))).toBe(true);
      expect(readdirSync(path.join(root, 'boot')).some((file) => file.startsWith('vmlinuz-'))).toBe(true);
      expect(readdirSync(path.join(DEMO_DIR, 'vault'))).toContain('master-demo.tar.gpg');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 1_200_000);

  it('npm test as root and sudo npm test as the user: both compile and run the tests asked for', async () => {
    for (const run of [await asRoot(['test', ...ONE_UNIT_FILE]), await throughSudo(['test', ...ONE_UNIT_FILE])]) {
      expect(run.exitCode, run.output.slice(-3000)).toBe(0);
      expect(run.output).toMatch(/Test Files\s+1 passed \(1\)/);
    }
  }, 600_000);
});
