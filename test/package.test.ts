// Issue 15, item 1: vauban as an operator installs it. The package is packed
// (npm pack), installed into a temporary prefix (npm install -g --prefix),
// and its three commands are run from a folder that holds none of vauban's
// files: they must find Dockerfile.base, stage.sh, dracut.conf and modules.d
// where the package was installed. Everything goes with the test's folder.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from './helpers/sh.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));

let work: string;
let prefix: string;
let elsewhere: string;
let installed: string;
let files: string[];
let tarball: string;

/** Runs an installed command by name, from the folder elsewhere, with PATH leading to the prefix's bin/. */
async function installedCommand(command: string, args: string[], env: Record<string, string> = {}) {
  const result = await execa(command, args, {
    cwd: elsewhere,
    env: { PATH: `${prefix}/bin:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: path.join(work, 'home'), ...env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

const SETTINGS = { ANSIBLE_REPO: 'https://git.example.com/ops/ansible.git', VAULTED_SSHD_KEYS_KEY: 'not-used-by-a-dry-run' };
// Every step that reads a file of the install folder: chroot_dracut, import_iso, apply_stages, build_conffs.
const EVERY_STEP = ['--dry-run', '--json', '-d', 'bookworm', '-n', 'master-pkg', '-a', 'web*', '-u', 'no', 'pb_base.yml'];

beforeAll(async () => {
  work = mkdtempSync('/var/tmp/vauban-itest-package-');
  prefix = path.join(work, 'prefix');
  elsewhere = path.join(work, 'elsewhere');
  mkdirSync(elsewhere);
  mkdirSync(path.join(work, 'home'));
  // As the README says: npm pack, whose prepack compiles dist/ afresh (no file of an older build in the package).
  const packed = JSON.parse(await sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO })) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = path.join(work, packed[0]?.filename ?? '');
  files = (packed[0]?.files ?? []).map((file) => file.path);
  // The dependencies come from npm's cache when it has them (npm ci filled it), else from the registry.
  await sh('npm', ['install', '--global', tarball, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: work });
  installed = path.join(prefix, 'lib', 'node_modules', 'vauban');
}, 300_000);

afterAll(() => {
  if (work !== undefined && process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the compiled program and the files vauban reads at run time, and no sources, tests or maps', () => {
    for (const file of ['bin/vauban.js', 'bin/vauban-ci.js', 'bin/vauban-version-control.js', 'dist/src/cli/vauban.js', 'dist/vauban-config.js',
      'Dockerfile.base', 'Dockerfile.stages', 'stage.sh', 'play/controller.py', 'play/agent.py', 'dracut.conf', 'modules.d/89vauban-live/module-setup.sh', 'config.yml',
      'examples/ansible/pb_base.yml', 'examples/.gitlab-ci.yml', 'package.json', 'README.md']) {
      expect(files, file).toContain(file);
    }
    expect(files.filter((file) => /^(src|test|bench|scripts|\.ci)\/|\.map$|\.test\.js$|\.ts$/.test(file))).toEqual([]);
    expect(statSync(tarball).size).toBeLessThan(500_000);
  });

  it('puts vauban, vauban-ci and vauban-version-control on PATH', async () => {
    for (const command of ['vauban', 'vauban-ci', 'vauban-version-control']) {
      const help = await installedCommand(command, ['-h']);
      expect(help.exitCode, `${command}: ${help.stderr}`).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: ${command}`));
    }
  });

  it('--version of every installed command says the package version (no commit: an installed package is no checkout) (issue 31)', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const argv of [['vauban', '--version'], ['vauban-ci', '--version'], ['vauban-version-control', '--version'], ['vauban', 'boot', '--version'], ['vauban', 'serve', '--version']]) {
      const [command, ...args] = argv as [string, ...string[]];
      const answer = await installedCommand(command, args);
      expect(answer.exitCode, argv.join(' ')).toBe(0);
      expect(answer.stdout.trim(), argv.join(' ')).toBe(`vauban ${version}`);
    }
    expect(files.filter((file) => file.startsWith('play/tests/'))).toEqual([]);
  });

  it('a dry run from another folder plans every step and finds its own files in the install folder', async () => {
    const run = await installedCommand('vauban', EVERY_STEP, SETTINGS);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const plan = JSON.parse(run.stdout) as { plan: { steps: string[] }; problems: string[] };
    expect(plan.plan.steps).toEqual(['mount_iso', 'bootstrap_fs', 'chroot_dracut', 'import_iso', 'apply_stages', 'build_rootfs', 'build_conffs']);
    expect(plan.problems).toEqual([]);
    // Its own files are the install folder's: the dry run names none of the working directory.
    expect(run.stdout).not.toContain(path.join(elsewhere, 'stage.sh'));
  });

  it('a dry run as a user that is not root, with no dockerd to answer, plans every step: it needs neither (issue 27)', async () => {
    // The test's folder is mkdtemp's 0700: opened so that nobody reaches the install and its working folder.
    chmodSync(work, 0o755);
    const home = mkdtempSync(path.join(work, 'nobody-home-'));
    chmodSync(home, 0o777);
    const result = await execa(path.join(prefix, 'bin', 'vauban'), [...EVERY_STEP], {
      cwd: home,
      uid: 65534,
      gid: 65534,
      env: { PATH: `${prefix}/bin:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home, DOCKER_HOST: `unix://${path.join(work, 'no-dockerd.sock')}`, ...SETTINGS },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(result.exitCode, String(result.stderr) + String(result.stdout)).toBe(0);
    expect(await sh('id', ['-u', 'nobody'])).toBe('65534');
    const plan = JSON.parse(String(result.stdout)) as { plan: { steps: string[] }; problems: string[]; cache: { not_looked_up: string | null } };
    expect(plan.plan.steps).toEqual(['mount_iso', 'bootstrap_fs', 'chroot_dracut', 'import_iso', 'apply_stages', 'build_rootfs', 'build_conffs']);
    expect(plan.problems).toEqual([]);
    // What it could not look up without an engine, it says.
    expect(plan.cache.not_looked_up).toMatch(/dockerd does not answer \(connect ENOENT [^)]*no-dockerd\.sock\)/);
  });

  it('names the install folder when one of its files is missing there (not the working directory)', async () => {
    const stage = path.join(installed, 'stage.sh');
    const saved = path.join(work, 'stage.sh.saved');
    cpSync(stage, saved);
    rmSync(stage);
    // A stage.sh in the working directory must not stand in for the installed one.
    writeFileSync(path.join(elsewhere, 'stage.sh'), '#!/bin/sh\nexit 0\n');
    try {
      const run = await installedCommand('vauban', EVERY_STEP, SETTINGS);
      expect(run.exitCode).toBe(1);
      const plan = JSON.parse(run.stdout) as { problems: string[] };
      expect(plan.problems).toEqual([`vauban's own stage.sh is missing from its install folder ${installed}`]);
    } finally {
      cpSync(saved, stage);
      rmSync(path.join(elsewhere, 'stage.sh'));
    }
  });

  it('vauban-ci reads config.yml of the working directory and runs the installed vauban', async () => {
    cpSync(path.join(REPO, 'config.yml'), path.join(elsewhere, 'config.yml'));
    const debug = await installedCommand('vauban-ci', ['--name', 'master-12-web', '--stage', 'rootfs', '--debug']);
    expect(debug.exitCode, debug.stderr).toBe(0);
    expect(debug.stdout.trim()).toBe('vauban --source-image master-12-base --name master-12-web --rootfs yes --initramfs no --conffs no --upload yes --branch master feature@pb_web.yml');
    // Without debug it runs vauban, which stops before any work on the settings it lacks: proof it ran the installed one.
    const run = await installedCommand('vauban-ci', [], { name: 'master-12-web', stage: 'rootfs' });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/setting ANSIBLE_REPO is required by the requested steps/);
  });
});
