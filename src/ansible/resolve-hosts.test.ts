import { describe, expect, it } from 'vitest';
import { readHostMacs, readHostVarsDigests, readInventoryDigest } from './resolve-hosts.js';

const inventory = (hostvars: Record<string, Record<string, unknown>>) => JSON.stringify({ _meta: { hostvars }, all: { children: ['ungrouped'] } });

describe('vauban_mac of the inventory (B15)', () => {
  it('reads each host\'s MAC address, as iPXE spells it; hosts without one have no entry by MAC', () => {
    const macs = readHostMacs(inventory({ web01: { vauban_mac: '52:54:00:12:34:56', http_port: 8081 }, web02: { http_port: 8082 }, db01: { vauban_mac: 'AA-BB-CC-DD-EE-FF' } }), ['web01', 'web02']);
    expect([...macs]).toEqual([['web01', '52-54-00-12-34-56']]);
  });

  it('a value that is no MAC address, or a MAC given twice, stops the run naming the host', () => {
    expect(() => readHostMacs(inventory({ web01: { vauban_mac: '52:54:00:12:34' } }), ['web01'])).toThrow(/inventory host 'web01': vauban_mac "52:54:00:12:34" is not a MAC address/);
    expect(() => readHostMacs(inventory({ web01: { vauban_mac: 42 } }), ['web01'])).toThrow(/vauban_mac 42 is not a MAC address/);
    expect(() => readHostMacs(inventory({ web01: { vauban_mac: '52:54:00:12:34:56' }, web02: { vauban_mac: '52-54-00-12-34-56' } }), ['web01', 'web02'])).toThrow(
      /'web01' and 'web02' have the same vauban_mac 52-54-00-12-34-56/,
    );
    expect(() => readHostMacs('not json', ['web01'])).toThrow(/printed no JSON/);
  });
});

describe('readHostVarsDigests (issue 12)', () => {
  const inventory = (port: string, dbHosts: string[]) =>
    JSON.stringify({ _meta: { hostvars: { web01: { http_port: 8081 }, web02: { http_port: port } } }, all: { children: ['db', 'web'] }, web: { hosts: ['web01', 'web02'] }, db: { hosts: dbHosts } });

  it('changes for the host whose variables or groups changed, and only for it', () => {
    const before = readHostVarsDigests(inventory('8082', []), ['web01', 'web02']);
    const after = readHostVarsDigests(inventory('9999', []), ['web01', 'web02']);
    expect(after.get('web01')).toBe(before.get('web01'));
    expect(after.get('web02')).not.toBe(before.get('web02'));
    const regrouped = readHostVarsDigests(inventory('8082', ['web02']), ['web01', 'web02']);
    expect(regrouped.get('web01')).toBe(before.get('web01'));
    expect(regrouped.get('web02')).not.toBe(before.get('web02'));
  });
});

describe('readInventoryDigest (issue 12)', () => {
  const inventory = (port: string, dbHosts: string[]) => ({ _meta: { hostvars: { web01: { http_port: 8081 }, web02: { http_port: port } } }, all: { children: ['db', 'web'] }, web: { hosts: ['web01', 'web02'] }, db: { hosts: dbHosts } });

  it("changes with any host's variables or any group's members, not with the order of the keys", () => {
    const before = readInventoryDigest(JSON.stringify(inventory('8082', [])));
    expect(readInventoryDigest(JSON.stringify(inventory('9999', [])))).not.toBe(before);
    expect(readInventoryDigest(JSON.stringify(inventory('8082', ['web01'])))).not.toBe(before);
    const { _meta, ...groups } = inventory('8082', []);
    expect(readInventoryDigest(JSON.stringify({ ...groups, _meta }))).toBe(before);
  });
});
