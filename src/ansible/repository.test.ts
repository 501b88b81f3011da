import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AnsibleRepository, type Commit } from './repository.js';

// A real git repository: the digest is made of `git ls-tree` output.
let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function repositoryWith(files: Record<string, string>): { dir: string; commit: (change?: Record<string, string>) => Commit } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vauban-repo-test-'));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'master');
  const write = (more: Record<string, string>) => {
    for (const [file, content] of Object.entries(more)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), content);
    }
    git('add', '-A');
    git('commit', '-q', '--allow-empty', '-m', 'change');
    return { branch: 'master', sha: git('rev-parse', 'HEAD'), mirror: path.join(dir, '.git') };
  };
  write(files);
  return { dir, commit: (change = {}) => write(change) };
}

const treeOf = (rootDir: string | undefined, commit: Commit) =>
  new AnsibleRepository({ remote: { url: 'file:///nowhere', keyFile: '/nowhere' }, workDir: '/nowhere', rootDir, runOptions: {} }).inventorylessTree(commit);

describe('the tree a stage reads, without the inventory (issue 28)', () => {
  const layout = {
    'README.md': 'top',
    'ansible/ansible.cfg': '[defaults]\n',
    'ansible/pb.yml': '- hosts: all\n',
    'ansible/inventory/hosts': 'web01 http_port=80\n',
    'ansible/inventory/group_vars/web.yml': 'a: 1\n',
    'ansible/group_vars/all.yml': 'b: 1\n',
    'ansible/host_vars/web01.yml': 'c: 1\n',
    'ansible/roles/r/templates/t.j2': 'x\n',
    'shared/roles/s/tasks/main.yml': '- debug: msg=1\n',
  };

  it('leaves out the inventory folder, group_vars/ and host_vars/ of ANSIBLE_ROOT_DIR, and nothing else', async () => {
    const repo = repositoryWith(layout);
    const first = await treeOf('ansible', repo.commit());
    for (const file of ['ansible/inventory/hosts', 'ansible/inventory/group_vars/web.yml', 'ansible/group_vars/all.yml', 'ansible/host_vars/web01.yml']) {
      expect(await treeOf('ansible', repo.commit({ [file]: `changed ${file}\n` })), file).toBe(first);
    }
    let previous = first;
    // Siblings of ANSIBLE_ROOT_DIR (shared roles a cfg's roles_path reaches), the repository's top, the playbooks' own files.
    for (const file of ['shared/roles/s/tasks/main.yml', 'README.md', 'ansible/ansible.cfg', 'ansible/pb.yml', 'ansible/roles/r/templates/t.j2', 'ansible/vars.yml']) {
      const now = await treeOf('ansible', repo.commit({ [file]: `changed ${file}\n` }));
      expect(now, file).not.toBe(previous);
      previous = now;
    }
  });

  it('at every depth of a nested ANSIBLE_ROOT_DIR: the siblings of each folder on the way count', async () => {
    const repo = repositoryWith({ 'a/b/pb.yml': '- hosts: all\n', 'a/b/inventory': 'x\n', 'a/roles/r.yml': '1\n', 'a/other/c.yml': '1\n' });
    const first = await treeOf('./a/b/', repo.commit());
    expect(await treeOf('a/b', repo.commit({ 'a/b/inventory': 'y\n' }))).toBe(first);
    const sibling = await treeOf('a/b', repo.commit({ 'a/other/c.yml': '2\n' }));
    expect(sibling).not.toBe(first);
    expect(await treeOf('a/b', repo.commit({ 'a/roles/r.yml': '2\n' }))).not.toBe(sibling);
  });

  it('at the top of the repository (no ANSIBLE_ROOT_DIR)', async () => {
    const repo = repositoryWith({ 'pb.yml': '- hosts: all\n', inventory: 'x\n', 'group_vars/all.yml': '1\n', 'roles/r.yml': '1\n' });
    const first = await treeOf(undefined, repo.commit());
    expect(await treeOf(undefined, repo.commit({ inventory: 'y\n', 'group_vars/all.yml': '2\n' }))).toBe(first);
    expect(await treeOf(undefined, repo.commit({ 'roles/r.yml': '2\n' }))).not.toBe(first);
  });
});
