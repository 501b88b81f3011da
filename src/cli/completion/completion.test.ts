// The shell completion's knowledge of the commands and of the working
// directory. The scripts themselves run in real bash, zsh and fish in
// test/completion.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mainBoot } from '../vauban-boot.js';
import { completionCandidates, localAnsibleRepo } from './candidates.js';
import { completionSpecs, type CommandSpec } from './spec.js';

let specs: CommandSpec[];
beforeAll(async () => {
  specs = await completionSpecs();
});

function options(name: string, sub?: string) {
  const command = specs.find((one) => one.name === name);
  return (sub === undefined ? command : command?.subcommands?.find((one) => one.name === sub))?.options ?? [];
}

describe('what the completion knows of the commands (issue 15, item 4)', () => {
  it('vauban: every option of its parser, yes/no and xz/zstd from their placeholders, files, masters, branches', () => {
    const byLong = new Map(options('vauban').map((option) => [option.long, option]));
    expect([...byLong.keys()]).toEqual([
      '--rootfs', '--initramfs', '--conffs', '--upload', '--iso', '--source-image', '--ssh-priv-key', '--name', '--branch', '--ansible-host',
      '--debian-release', '--compression', '--conffs-parallel', '--kernel', '--build-engine', '--kubernetes-no-cleanup', '--shard', '--release', '--no-cache', '--dry-run', '--json', '--debug', '--keep-failed', '--version', '--help',
    ]);
    expect(byLong.get('--rootfs')).toMatchObject({ short: '-r', value: { kind: 'choices', choices: ['yes', 'no'] } });
    expect(byLong.get('--compression')?.value).toEqual({ kind: 'choices', choices: ['xz', 'zstd'] });
    expect(byLong.get('--iso')?.value).toEqual({ kind: 'file' });
    expect(byLong.get('--name')?.value).toEqual({ kind: 'masters' });
    expect(byLong.get('--source-image')?.value).toEqual({ kind: 'masters' });
    expect(byLong.get('--branch')?.value).toEqual({ kind: 'branches' });
    expect(byLong.get('--build-engine')?.value).toEqual({ kind: 'choices', choices: ['docker'] });
    expect(byLong.get('--dry-run')?.value).toBeUndefined();
    expect(specs[0]?.positional).toEqual({ kind: 'stages' });
  });

  it('vauban-ci: its options, the stages of config.yml as choices', () => {
    const byLong = new Map(options('vauban-ci').map((option) => [option.long, option]));
    expect(byLong.get('--stage')?.value).toEqual({ kind: 'choices', choices: ['rootfs', 'conffs', 'initramfs', 'all', 'promote'] });
    expect(byLong.get('--name')?.value).toEqual({ kind: 'masters' });
    expect(byLong.get('--config')?.value).toEqual({ kind: 'file' });
  });

  it('vauban boot: the list the completion keeps is the options its help shows', async () => {
    const stdout = new PassThrough();
    let help = '';
    stdout.on('data', (chunk: Buffer) => (help += chunk.toString()));
    const code = await mainBoot({ argv: ['-h'], env: {}, cwd: '/', stdout: stdout as unknown as NodeJS.WriteStream, stderr: process.stderr });
    expect(code).toBe(0);
    const shown = [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((match) => match[1]);
    expect(options('vauban', 'boot').map((option) => option.long)).toEqual(shown);
  });
});

describe('candidates from the working directory', () => {
  let dir: string;
  let repo: string;
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo, stdio: 'pipe' });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vauban-completion-'));
    repo = path.join(dir, 'ansible');
    mkdirSync(path.join(repo, 'site'), { recursive: true });
    for (const file of ['pb_base.yml', 'requirements.yml', 'README.md']) writeFileSync(path.join(repo, file), '- hosts: all\n');
    writeFileSync(path.join(repo, 'site', 'pb_site.yml'), '- hosts: all\n');
    git('init', '-q', '-b', 'master');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    git('checkout', '-q', '-b', 'feature');
    writeFileSync(path.join(repo, 'pb_web.yml'), '- hosts: all\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'web');
    git('checkout', '-q', 'master');
    writeFileSync(path.join(dir, 'config.yml'), 'configuration: {}\n"debian.raw":\n  name: debian-12/iso\n  master-base:\n    stages: [pb_base.yml]\n    web:\n      name: master-web\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ask = (kind: 'masters' | 'branches' | 'stages', current = '', env: NodeJS.ProcessEnv = { ANSIBLE_REPO: repo }, branch = 'master') =>
    completionCandidates(kind, { cwd: dir, env, branch, current });

  it('masters of config.yml by key and name, the base\'s image name, not the base file', async () => {
    expect(await ask('masters')).toEqual(['debian-12/iso', 'master-base', 'web', 'master-web']);
  });

  it('playbooks of the branch (not requirements.yml), then each branch followed by @', async () => {
    expect(await ask('stages')).toEqual(['pb_base.yml', 'feature@', 'master@']);
    expect(await ask('stages', '', { ANSIBLE_REPO: repo }, 'feature')).toEqual(['pb_base.yml', 'pb_web.yml', 'feature@', 'master@']);
    expect(await ask('stages', 'feature@pb')).toEqual(['feature@pb_base.yml', 'feature@pb_web.yml']);
    expect(await ask('branches')).toEqual(['feature', 'master']);
  });

  it('under ANSIBLE_ROOT_DIR when it is set', async () => {
    expect(await ask('stages', '', { ANSIBLE_REPO: repo, ANSIBLE_ROOT_DIR: 'site' })).toEqual(['pb_site.yml', 'feature@', 'master@']);
  });

  it('the repository from .secrets.env, a file:// URL or a relative path; none for a remote one; never an error', async () => {
    expect((await localAnsibleRepo(dir, { ANSIBLE_REPO: `file://${repo}` }))?.dir).toBe(repo);
    expect((await localAnsibleRepo(dir, { ANSIBLE_REPO: 'ansible' }))?.dir).toBe(repo);
    expect((await localAnsibleRepo(dir, { ANSIBLE_REPO: './ansible' }))?.dir).toBe(repo);
    expect(await localAnsibleRepo(dir, { ANSIBLE_REPO: 'git@git.example.com:ops/ansible.git' })).toBeUndefined();
    expect(await localAnsibleRepo(dir, { ANSIBLE_REPO: 'https://git.example.com/ops/ansible.git' })).toBeUndefined();
    expect(await localAnsibleRepo(dir, {})).toBeUndefined();
    writeFileSync(path.join(dir, '.secrets.env'), `export ANSIBLE_REPO='${repo}'\n`);
    try {
      expect((await localAnsibleRepo(dir, { ANSIBLE_REPO: 'https://git.example.com/x.git' }))?.dir).toBe(repo);
    } finally {
      rmSync(path.join(dir, '.secrets.env'));
    }
    expect(await ask('stages', '', { ANSIBLE_REPO: path.join(dir, 'nowhere') })).toEqual([]);
    expect(await ask('stages', 'nobranch@')).toEqual([]);
  });
});
