import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialHelper, credentialsOf, treeMentionsAnyWord, withoutCredentials } from './git.js';

describe('credentials in a git URL (issue 13, item 5)', () => {
  it('finds and decodes user:token@ of an https URL', () => {
    expect(credentialsOf('https://ci-bot:glpat%2Fx%40y@git.example.com/ops/ansible.git')).toEqual({ username: 'ci-bot', password: 'glpat/x@y' });
    expect(credentialsOf('http://token@git.example.com/a.git')).toEqual({ username: 'token', password: '' });
  });

  it('leaves ssh users and plain URLs alone', () => {
    expect(credentialsOf('ssh://git@git.example.com/ops/ansible.git')).toBeUndefined();
    expect(credentialsOf('git@git.example.com:ops/ansible.git')).toBeUndefined();
    expect(credentialsOf('https://git.example.com/ops/ansible.git')).toBeUndefined();
  });

  it('strips them from the URL that is stored or shown', () => {
    expect(withoutCredentials('https://ci-bot:s3cret@git.example.com/ops/ansible.git')).toBe('https://git.example.com/ops/ansible.git');
  });

  it('hands them to git through its environment, never its arguments', () => {
    const helper = credentialHelper({ username: 'ci-bot', password: 's3cret' });
    expect(helper.args.join(' ')).not.toContain('s3cret');
    expect(helper.env).toEqual({ VAUBAN_GIT_USERNAME: 'ci-bot', VAUBAN_GIT_PASSWORD: 's3cret' });
  });
});

describe('treeMentionsAnyWord (issue 12: does a play read other hosts?)', () => {
  const words = ['hostvars', 'groups', 'play_hosts', 'ansible_play_hosts'];
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vauban-git-grep-'));
    execFileSync('git', ['init', '-q', dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Commits exactly `files` (the previous ones removed) and asks. */
  const ask = (files: Record<string, string | Buffer>): Promise<boolean> => {
    execFileSync('git', ['-C', dir, 'rm', '-rqf', '--ignore-unmatch', '.']);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    execFileSync('git', ['-C', dir, 'add', '-A']);
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', 'commit', '-q', '--allow-empty', '-m', 'x']);
    return treeMentionsAnyWord(dir, words);
  };

  it('finds a word in any committed file, at any depth', async () => {
    expect(await ask({ 'roles/web/templates/peers.j2': "{% for h in groups['web'] %}{{ h }}\n{% endfor %}\n" })).toBe(true);
    expect(await ask({ 'group_vars/all.yml': "db_ip: \"{{ hostvars['db01'].ansible_host }}\"\n" })).toBe(true);
    expect(await ask({ 'pb.yml': '- hosts: all\n  tasks:\n    - debug: var=ansible_play_hosts\n' })).toBe(true);
  });

  it('not a longer word that contains one (group_names, mygroups, hostvars_extra), nor a file left uncommitted', async () => {
    expect(await ask({ 'pb.yml': "- debug: var=group_names\n- debug: msg='{{ mygroups }} {{ hostvars_extra }} {{ inventory_hostname }}'\n" })).toBe(false);
    writeFileSync(path.join(dir, 'untracked.j2'), "{{ groups['web'] }}\n");
    expect(await treeMentionsAnyWord(dir, words)).toBe(false);
    rmSync(path.join(dir, 'untracked.j2'));
  });

  it('a failing git is an error, not an answer', async () => {
    await expect(treeMentionsAnyWord(path.join(dir, 'no-such-dir'), words)).rejects.toThrow(/git grep failed/);
  });
});
