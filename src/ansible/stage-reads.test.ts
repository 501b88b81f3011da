import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnsibleRepository, type Commit } from './repository.js';
import type { InputParts } from '../cache/inputs.js';
import { carriedReads, stageReads, type StageReads } from './stage-reads.js';

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

describe('the reads of a stage carried from its last build, without listing the inventory (issue 28)', () => {
  const INVENTORY = '[web]\nweb01 http_port=8081\nweb02 http_port=8082\n';
  /** A repository whose commits change one file each; ANSIBLE_ROOT_DIR `root` ('' for the top). */
  function history(root: string) {
    const dir = mkdtempSync(path.join(tmpdir(), 'vauban-carry-test-'));
    dirs.push(dir);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: dir, encoding: 'utf8' }).trim();
    const at = (file: string) => path.join(dir, root, file);
    git('init', '-q', '-b', 'master');
    execFileSync('mkdir', ['-p', at('host_vars'), path.join(dir, 'roles')]);
    writeFileSync(at('pb.yml'), '- hosts: all\n  tasks: [{ debug: { msg: "{{ note }}" } }]\n');
    writeFileSync(at('inventory'), INVENTORY);
    writeFileSync(path.join(dir, 'roles', 'main.yml'), 'one\n');
    const commit = (file: string, text: string): Commit => {
      writeFileSync(file === 'roles/main.yml' ? path.join(dir, file) : at(file), text);
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', file);
      return { branch: 'master', sha: git('rev-parse', 'HEAD'), mirror: path.join(dir, '.git') };
    };
    const repo = new AnsibleRepository({ remote: { url: 'file:///nowhere', keyFile: '/nowhere' }, workDir: '/nowhere', rootDir: root === '' ? undefined : `./${root}/`, runOptions: {} });
    return { commit, repo };
  }
  // The stage's parts as apply_stages makes them: its tree and variables, and inputs that stay the same.
  const partsOf = (reads: StageReads): InputParts => ({ kind: 'stage', parent: 'sha256:parent', tree: reads.tree, vars: reads.vars, ...(reads.inventory === undefined ? {} : { inventory: reads.inventory }) });
  const options = { partsOf, hookPre: undefined, buildListing: undefined };

  for (const root of ['', 'ops/ansible']) {
    it(`a host's line or host_vars/ changed since the build: the build's reads, named hosts (ANSIBLE_ROOT_DIR '${root}')`, async () => {
      const { commit, repo } = history(root);
      const built = commit('inventory', INVENTORY);
      const build = { sha: built.sha, parts: partsOf({ tree: await repo.inventorylessTree(built), vars: 'sha-of-the-master-vars', inventory: undefined }) };
      commit('inventory', INVENTORY.replace('8082', '9092'));
      const now = commit('host_vars/web01.yml', 'a: 1\n');
      expect(await carriedReads(repo, now, 'master-web', build, options)).toEqual({ reads: { tree: build.parts.tree, vars: 'sha-of-the-master-vars', inventory: undefined }, hosts: ['web01', 'web02'] });
      // Each of these, since the build, makes the inventory listed again.
      expect(await carriedReads(repo, commit('host_vars/master-web.yml', 'b: 1\n'), 'master-web', build, options)).toEqual({ why: "host_vars/master-web.yml is master-web's" });
      expect(await carriedReads(repo, now, 'master-web', build, { ...options, hookPre: 'export ANSIBLE_INVENTORY_ENABLED=yaml' })).toEqual({ why: 'HOOK_PRE_ANSIBLE is set' });
      expect(await carriedReads(repo, now, 'master-web', { ...build, parts: { ...build.parts, parent: 'sha256:other' } }, options)).toEqual({ why: 'other inputs changed (parent)' });
      expect(await carriedReads(repo, commit('roles/main.yml', 'two\n'), 'master-web', build, options)).toEqual({ why: 'other inputs changed (tree)' });
    });
  }

  it('a build whose commit is not in the mirror, or whose label names a commit of another tree: the inventory is listed', async () => {
    const { commit, repo } = history('');
    const first = commit('inventory', INVENTORY);
    const second = commit('pb.yml', '- hosts: all\n');
    const tree = await repo.inventorylessTree(second);
    expect(await carriedReads(repo, second, 'master-web', { sha: 'f'.repeat(40), parts: partsOf({ tree, vars: 'v', inventory: undefined }) }, options)).toEqual({ why: 'commit ffffffffff is not in the mirror' });
    // The label's commit is the first, its tree the second's: a label that does not tell the truth is not believed.
    expect(await carriedReads(repo, second, 'master-web', { sha: first.sha, parts: partsOf({ tree, vars: 'v', inventory: undefined }) }, options)).toEqual({ why: `commit ${first.sha.slice(0, 10)} differs from this one outside the inventory` });
  });

  it('a repository that reads other hosts: the inventory is listed', async () => {
    const { commit, repo } = history('');
    const built = commit('pb.yml', "- hosts: all\n  tasks: [{ debug: { msg: \"{{ groups['web'] }}\" } }]\n");
    const build = { sha: built.sha, parts: partsOf({ tree: await repo.inventorylessTree(built), vars: 'v', inventory: undefined }) };
    expect(await carriedReads(repo, commit('inventory', INVENTORY.replace('8082', '9092')), 'master-web', build, options)).toEqual({ why: 'the stages read other hosts' });
  });
});
