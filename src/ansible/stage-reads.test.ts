import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnsibleRepository, type Commit } from './repository.js';
import { stageReads } from './stage-reads.js';

// ansible-inventory --list as Ansible prints it (hostvars merged), for a master and two hosts.
const inventory = (web02Port: number, masterNote = 'one') =>
  JSON.stringify({
    _meta: { hostvars: { 'master-web': { note: masterNote }, web01: { http_port: 8081 }, web02: { http_port: web02Port } } },
    all: { children: ['masters', 'ungrouped', 'web'] },
    masters: { hosts: ['master-web'] },
    web: { hosts: ['web01', 'web02'] },
  });

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function commitOf(playbook: string): Commit {
  const dir = mkdtempSync(path.join(tmpdir(), 'vauban-reads-test-'));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'master');
  writeFileSync(path.join(dir, 'pb.yml'), playbook);
  git('add', '-A');
  git('commit', '-q', '-m', 'one');
  return { branch: 'master', sha: git('rev-parse', 'HEAD'), mirror: path.join(dir, '.git') };
}

const repository = new AnsibleRepository({ remote: { url: 'file:///nowhere', keyFile: '/nowhere' }, workDir: '/nowhere', rootDir: undefined, runOptions: {} });

describe("what a stage reads of the repository (issue 28)", () => {
  it("another host's variable leaves the master's inputs as they were; the master's own changes them", async () => {
    const commit = commitOf('- hosts: all\n  tasks: [{ debug: { msg: "{{ note }}" } }]\n');
    const before = await stageReads(repository, commit, 'master-web', inventory(8082));
    expect(before.inventory).toBeUndefined();
    expect(await stageReads(repository, commit, 'master-web', inventory(9092))).toEqual(before);
    expect((await stageReads(repository, commit, 'master-web', inventory(8082, 'two'))).vars).not.toBe(before.vars);
  });

  it('a repository that reads other hosts (groups, hostvars) makes the whole inventory an input', async () => {
    const commit = commitOf("- hosts: all\n  tasks: [{ debug: { msg: \"{{ groups['web'] }}\" } }]\n");
    const before = await stageReads(repository, commit, 'master-web', inventory(8082));
    expect(before.inventory).toMatch(/^[0-9a-f]{64}$/);
    expect((await stageReads(repository, commit, 'master-web', inventory(9092))).inventory).not.toBe(before.inventory);
  });
});
