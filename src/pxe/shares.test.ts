import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostsOfShard } from '../model/shard.js';
import { checkShares, parseSharesListing, shareManifestOf, type ServerShares, type ShareInput, type ShareManifest } from './shares.js';

const NAME = 'master-12-web';
const R = '20261207T150000Z-p42';
const IMAGE = { name: NAME, id: 'sha256:aaaa' };
const FLEET = ['web01', 'web02', 'web03', 'web04', 'db01', 'db02'];
const sum = (text: string) => createHash('sha256').update(text).digest('hex');

function manifest(overrides: Partial<ShareInput>): ShareManifest {
  const input: ShareInput = {
    name: NAME,
    release: R,
    label: overrides.shard === undefined ? 'rootfs' : `${overrides.shard.index}-of-${overrides.shard.total}`,
    shard: undefined,
    selection: null,
    hosts: [],
    files: [],
    bootFiles: [],
    kernelVersion: undefined,
    linuxCopies: [],
    image: IMAGE,
    group: undefined,
    runId: 'r',
    ...overrides,
  };
  return shareManifestOf(input, new Date('2026-12-07T15:00:00Z'));
}

function shard(index: number, total: number, image = IMAGE): ShareManifest {
  const hosts = hostsOfShard(FLEET, { index, total });
  return manifest({ shard: { index, total }, selection: { pattern: 'all', hosts: [...FLEET].sort() }, hosts, image, files: hosts.map((host) => ({ member: `conffs-${host}.tgz`, local: '', sha256: sum(host) })) });
}

const rootfs = manifest({ files: [{ member: 'rootfs.tgz', local: '', sha256: sum('rootfs') }], kernelVersion: '6.1.0-28-amd64' });

/** A server holding `manifests`, each file as its manifest says (or as `tamper` says). */
function server(name: string, manifests: ShareManifest[], tamper: Record<string, string | null> = {}): ServerShares {
  const sums = new Map<string, string>();
  for (const one of manifests) {
    for (const [member, sha] of Object.entries(one.files)) {
      const key = `${one.share}/${member}`;
      const changed = tamper[key];
      if (changed === null) continue;
      sums.set(key, changed ?? sha);
    }
  }
  return { server: name, manifests: manifests.map((one) => ({ label: one.share, manifest: one })), sums };
}

const all = (total: number) => Array.from({ length: total }, (_, index) => shard(index + 1, total));

describe('checkShares: one whole release from the shares on every server (issue 29)', () => {
  it('the rootfs share and every shard on both servers: one release of every host, built on one image', () => {
    const verdict = checkShares(NAME, R, [server('pxe1', [rootfs, ...all(3)]), server('pxe2', [rootfs, ...all(3)])], 3);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.merged.hosts).toEqual([...FLEET].sort());
    expect(verdict.merged.kernelVersion).toBe('6.1.0-28-amd64');
    expect(verdict.merged.files.find((file) => file.member === 'rootfs.tgz')?.onServer).toBe(`${NAME}/releases/.shares-${R}/rootfs/rootfs.tgz`);
    expect(verdict.merged.notes).toEqual([]);
  });

  it("a shard that did not upload: refused, naming the shard and its hosts", () => {
    const shards = all(3);
    const missing = shards[1] as ShareManifest;
    expect(missing.hosts.length).toBeGreaterThan(0);
    const verdict = checkShares(NAME, R, [server('pxe1', [rootfs, shards[0] as ShareManifest, shards[2] as ShareManifest])]);
    expect(verdict).toEqual({ ok: false, problems: [`shard 2/3 has not uploaded (its hosts: ${missing.hosts.join(', ')})`] });
  });

  it('a share on one server only: refused, naming the server that lacks it', () => {
    const verdict = checkShares(NAME, R, [server('pxe1', [rootfs, ...all(2)]), server('pxe2', [rootfs, all(2)[0] as ShareManifest])]);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.problems.join('\n')).toMatch(/^share 2-of-2 \(hosts: .+\) is missing on pxe2$/m);
  });

  it('a file missing, or not the bytes its manifest names: refused', () => {
    const [one, two] = all(2) as [ShareManifest, ShareManifest];
    const host = one.hosts[0] as string;
    const verdict = checkShares(NAME, R, [server('pxe1', [rootfs, one, two], { [`1-of-2/conffs-${host}.tgz`]: sum('other'), 'rootfs/rootfs.tgz': null })]);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.problems).toContain(`pxe1: 1-of-2/conffs-${host}.tgz has sha256 ${sum('other')}, its manifest says ${sum(host)}`);
    expect(verdict.problems).toContain('pxe1: rootfs/rootfs.tgz is missing');
  });

  it('shards built on another image of the master than the rootfs: refused', () => {
    const verdict = checkShares(NAME, R, [server('pxe1', [rootfs, shard(1, 2), shard(2, 2, { name: NAME, id: 'sha256:bbbb' })])]);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.problems.join('\n')).toMatch(/built on different images of the master: rootfs, 1-of-2 on aaaa; 2-of-2 on bbbb/);
  });

  it('shards of different cuts or selections, or fewer than --shards says: refused', () => {
    const mixed = checkShares(NAME, R, [server('pxe1', [shard(1, 2), shard(2, 3)])]);
    expect(mixed.ok || mixed.problems.join('\n')).toMatch(/different numbers of shares \(2, 3\)/);
    const none = checkShares(NAME, R, [server('pxe1', [rootfs])], 4);
    expect(none.ok || none.problems.join('\n')).toMatch(/none of the 4 shard\(s\) has uploaded/);
    const other = shard(2, 2);
    other.selection = { pattern: 'web', hosts: ['web01'] };
    const selections = checkShares(NAME, R, [server('pxe1', [shard(1, 2), other])]);
    expect(selections.ok || selections.problems.join('\n')).toMatch(/selected different hosts/);
  });

  it('an empty share (a shard none of the hosts falls in) is not missing; no rootfs share keeps the live rootfs', () => {
    // Six hosts in 16 shards: most shards are empty and upload nothing.
    const shards = Array.from({ length: 16 }, (_, index) => shard(index + 1, 16)).filter((one) => one.hosts.length > 0);
    const verdict = checkShares(NAME, R, [server('pxe1', shards)], 16);
    expect(verdict.ok).toBe(true);
    if (verdict.ok) expect(verdict.merged.notes).toEqual(['no share holds a rootfs: the release keeps the live one']);
  });

  it('no share at all on a server, or a manifest that is not ours: refused', () => {
    const empty = checkShares(NAME, R, [{ server: 'pxe1', manifests: [], sums: new Map() }]);
    expect(empty.ok || empty.problems.join('\n')).toMatch(/pxe1: no share of release/);
    const listing = parseSharesListing('pxe1', `--vauban-share-separator-- 1-of-2.json\n{"vauban":1}\n--vauban-share-separator-- rootfs.json\nnot json\n--vauban-share-separator-- sums\n`);
    expect(listing.manifests.map((one) => one.problem)).toEqual([expect.stringMatching(/^its manifest is not one vauban writes/), 'its manifest is not JSON']);
  });

  it('reads back what the server prints: manifests and the sha256 of each share\'s files', () => {
    const one = shard(1, 2);
    const [host] = one.hosts;
    const listing = parseSharesListing('pxe1', `--vauban-share-separator-- 1-of-2.json\n${JSON.stringify(one)}\n--vauban-share-separator-- sums\n${sum(host ?? '')}  ./1-of-2/conffs-${host ?? ''}.tgz\n`);
    expect(listing.manifests).toEqual([{ label: '1-of-2', manifest: one }]);
    expect(listing.sums.get(`1-of-2/conffs-${host ?? ''}.tgz`)).toBe(sum(host ?? ''));
  });
});
