import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { treeMatches } from '../system/git.js';
import { READS_OTHER_HOSTS } from './other-hosts.js';

// On a real git repository, through the same git grep as a run.
describe('READS_OTHER_HOSTS: does a play of the commit read other hosts? (issue 12)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vauban-other-hosts-'));
    execFileSync('git', ['init', '-q', dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Commits exactly `files` (the previous ones removed) and asks. */
  const ask = (files: Record<string, string>): Promise<boolean> => {
    execFileSync('git', ['-C', dir, 'rm', '-rqf', '--ignore-unmatch', '.']);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    execFileSync('git', ['-C', dir, 'add', '-A']);
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@vauban.invalid', 'commit', '-q', '--allow-empty', '-m', 'x']);
    return treeMatches(head(), READS_OTHER_HOSTS);
  };
  // The commit as the run reads it: in a repository's object store, by sha.
  const head = () => ({ mirror: path.join(dir, '.git'), sha: execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim() });

  it.each([
    ['roles/web/templates/peers.j2', "{% for h in groups['web'] %}{{ h }}\n{% endfor %}\n"],
    ['templates/db.j2', 'db={{ groups.db | first }}\n'],
    ['group_vars/all.yml', "db_ip: \"{{ hostvars['db01'].ansible_host }}\"\n"],
    ['pb.yml', "- hosts: all\n  tasks:\n    - debug: var=ansible_play_hosts\n"],
    ['pb.yml', "    - when: inventory_hostname in groups and x\n"],
    ['pb.yml', '    - when: play_hosts == []\n'],
    ['pb.yml', "    - when: ansible_play_batch | length > 1\n"],
    ['pb.yml', "    - loop: \"{{ query('inventory_hostnames', 'all') }}\"\n"],
    ['pb.yml', '    - with_items: groups\n'],
  ])('%s: %j reads other hosts', async (file, content) => {
    expect(await ask({ [file]: content })).toBe(true);
  });

  it.each([
    ['templates/motd.j2', "host={{ inventory_hostname }}\ngroups={{ group_names | join(',') }}\n"],
    ['inventory.yml', 'plugin: constructed\ngroups:\n  web: "\'web\' in inventory_hostname"\n'],
    ['pb.yml', "- debug: msg='{{ mygroups }} {{ hostvars_extra }} {{ group_names }}'\n"],
    ['pb.yml', '    groups : none\n'],
  ])('%s: %j does not', async (file, content) => {
    expect(await ask({ [file]: content })).toBe(false);
  });

  it('a file left uncommitted is not the commit', async () => {
    expect(await ask({ 'pb.yml': '- hosts: all\n' })).toBe(false);
    writeFileSync(path.join(dir, 'untracked.j2'), "{{ groups['web'] }}\n");
    expect(await treeMatches(head(), READS_OTHER_HOSTS)).toBe(false);
    rmSync(path.join(dir, 'untracked.j2'));
  });

  it('a failing git is an error, not an answer', async () => {
    await expect(treeMatches({ mirror: path.join(dir, 'no-such-dir'), sha: 'HEAD' }, READS_OTHER_HOSTS)).rejects.toThrow(/git grep failed/);
  });
});
