import { describe, expect, it } from 'vitest';
import { groupsWithParents, inventoryChange, type InventoryFile } from './inventory-change.js';

const INI = `# the fleet
[web]
web01 http_port=8081
web02 http_port=8082

[db]
db01

[web:vars]
tier=front

[infra:children]
masters
`;

/** A tree of the inventory sources: text for the INI files, a blob id that changes with the content. */
function tree(files: Record<string, string | { text?: string; mode: string }>): Map<string, InventoryFile> {
  return new Map(
    Object.entries(files).map(([file, value]) => {
      const entry = typeof value === 'string' ? { text: value, mode: '100644' } : value;
      const isVars = /(^|\/)(group|host)_vars\//.test(file);
      return [file, { mode: entry.mode, blob: `blob of ${entry.text ?? ''}`, ...(isVars || entry.text === undefined ? {} : { text: entry.text }) }];
    }),
  );
}

const change = (before: Record<string, string | { text?: string; mode: string }>, after: Record<string, string | { text?: string; mode: string }>, masterGroups: string[] | null = ['infra', 'masters', 'all']) =>
  inventoryChange({ master: 'master-web', masterGroups: masterGroups ?? undefined, before: tree(before), after: tree(after) });

describe('whether an inventory change can reach the master (issue 28)', () => {
  it("a host's variable on its INI line reaches that host only", () => {
    expect(change({ inventory: INI }, { inventory: INI.replace('web02 http_port=8082', 'web02 http_port=9092') })).toEqual({ otherHostsOnly: true, hosts: ['web02'] });
    // The same in an inventory folder, and a comment changed anywhere.
    expect(change({ 'inventory/hosts': INI }, { 'inventory/hosts': `${INI.replace('db01', 'db01 backup=yes')}# a note\n` })).toEqual({ otherHostsOnly: true, hosts: ['db01'] });
    // Files that did not change are not looked into: the master's group_vars/all.yml, as it was.
    expect(change({ inventory: INI, 'group_vars/all.yml': 'a: 1' }, { inventory: INI.replace('db01', 'db01 x=1'), 'group_vars/all.yml': 'a: 1' })).toEqual({ otherHostsOnly: true, hosts: ['db01'] });
    expect(change({ inventory: INI, 'group_vars/all.yml': 'a: 1' }, { inventory: INI, 'group_vars/all.yml': 'a: 2' })).toMatchObject({ otherHostsOnly: false });
  });

  it('the master\'s own line, a section, a group\'s variables or children, a host added, removed or moved: may reach it', () => {
    const withMaster = `${INI}\n[masters]\nmaster-web\n`;
    expect(change({ inventory: withMaster }, { inventory: withMaster.replace('master-web\n', 'master-web note=2\n') })).toEqual({ otherHostsOnly: false, why: 'inventory: the line of master-web changed' });
    expect(change({ inventory: INI }, { inventory: INI.replace('tier=front', 'tier=back') })).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('a line other than a host') });
    expect(change({ inventory: INI }, { inventory: `${INI}[all:vars]\nntp=pool\n` })).toMatchObject({ otherHostsOnly: false });
    expect(change({ inventory: INI }, { inventory: INI.replace('[infra:children]\nmasters', '[infra:children]\nmasters\nweb') })).toMatchObject({ otherHostsOnly: false });
    expect(change({ inventory: INI }, { inventory: INI.replace('db01', 'db01\ndb02') })).toEqual({ otherHostsOnly: false, why: 'inventory: db02 was added, removed or moved between groups' });
    expect(change({ inventory: INI }, { inventory: INI.replace('web02 http_port=8082\n', '').replace('db01', 'db01\nweb02 http_port=8082') })).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('web02 was added, removed or moved') });
    // A range may name the master.
    const ranged = INI.replace('db01', 'db[01:02]');
    expect(change({ inventory: ranged }, { inventory: ranged.replace('db[01:02]', 'db[01:02] backup=yes') })).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('not a plain host name') });
  });

  it("host_vars/ reaches its host: another host's file is the others' only, the master's (file or folder) is its own", () => {
    expect(change({ inventory: INI, 'host_vars/web02.yml': 'a: 1' }, { inventory: INI, 'host_vars/web02.yml': 'a: 2', 'inventory/host_vars/web01/x.yml': 'b: 1' })).toEqual({ otherHostsOnly: true, hosts: ['web01', 'web02'] });
    expect(change({ inventory: INI }, { inventory: INI, 'host_vars/master-web.yml': 'a: 1' })).toEqual({ otherHostsOnly: false, why: "host_vars/master-web.yml is master-web's" });
    expect(change({ inventory: INI }, { inventory: INI, 'host_vars/MASTER-WEB/vars.yml': 'a: 1' })).toMatchObject({ otherHostsOnly: false });
  });

  it("group_vars/ of groups the master is not in, with their parents and all, are the others' only; unknown groups take none", () => {
    expect(change({ inventory: INI, 'group_vars/web.yml': 'a: 1' }, { inventory: INI, 'group_vars/web.yml': 'a: 2' })).toEqual({ otherHostsOnly: true, hosts: ['group web'] });
    for (const file of ['group_vars/all.yml', 'group_vars/all/x.yml', 'group_vars/masters.yaml', 'inventory/group_vars/infra.json']) {
      expect(change({ 'inventory/hosts': INI }, { 'inventory/hosts': INI, [file]: 'a: 1' }), file).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('is read for master-web') });
    }
    expect(change({ inventory: INI }, { inventory: INI, 'group_vars/web.yml': 'a: 1' }, null)).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('groups at its build are not known') });
  });

  it('anything but static INI sources: cannot tell', () => {
    const script = { text: '#!/bin/sh\necho {}', mode: '100755' };
    expect(change({ inventory: INI, 'inventory.sh': script }, { inventory: INI.replace('db01', 'db01 x=1'), 'inventory.sh': script })).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('inventory.sh is an executable') });
    expect(change({ 'inventory/hosts.yml': 'all: {}' }, { 'inventory/hosts.yml': 'all: {}', 'host_vars/web01.yml': 'a: 1' })).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('not an INI inventory file') });
    // Without an extension Ansible reads a YAML mapping as YAML.
    const yaml = 'all:\n  hosts:\n    web01:\n';
    expect(change({ inventory: yaml }, { inventory: `${yaml}    web02:\n` })).toMatchObject({ otherHostsOnly: false, why: 'inventory reads as YAML' });
    expect(change({ inventory: INI }, { inventory: { mode: '120000' } })).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('link') });
    expect(change({ inventory: INI }, { inventory: INI, 'inventory.ini': INI })).toMatchObject({ otherHostsOnly: false, why: 'the inventory source inventory.ini was added' });
    expect(change({ 'inventory/prod/hosts': INI }, { 'inventory/prod/hosts': INI })).toMatchObject({ otherHostsOnly: false, why: expect.stringContaining('not a file of an inventory') });
  });

  it("the master's groups from ansible-inventory --list: its own, their parents, all", () => {
    const listing = JSON.stringify({
      _meta: { hostvars: {} },
      all: { children: ['infra', 'ungrouped', 'web'] },
      infra: { children: ['masters'] },
      masters: { hosts: ['master-web'] },
      web: { hosts: ['web01'] },
    });
    expect(groupsWithParents(listing, 'master-web')).toEqual(['all', 'infra', 'masters']);
    expect(groupsWithParents(JSON.stringify({ all: { children: ['ungrouped'] }, ungrouped: { hosts: ['master-web'] } }), 'master-web')).toEqual(['all', 'ungrouped']);
  });
});
