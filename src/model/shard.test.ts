import { describe, expect, it } from 'vitest';
import { hostsOfShard, parseShard, shardOf } from './shard.js';

const FIXED = [4, 2, 1, 4];
const fleet = Array.from({ length: 3000 }, (_, index) => `host${String(index).padStart(4, '0')}.dc${index % 7}`);

describe('shares of the conffs hosts (issue 29)', () => {
  it('parses I/N and refuses anything else, clearly', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, total: 4 });
    expect(parseShard('1/1')).toEqual({ index: 1, total: 1 });
    for (const bad of ['0/4', '5/4', '4', '1/0', '-1/4', '1/4/2', 'a/b', '1/1001', '']) expect(() => parseShard(bad), bad).toThrow(/--shard .*expected I\/N/);
  });

  it('the shares are disjoint and cover the fleet, each about its part', () => {
    for (const total of [1, 3, 16]) {
      const shares = Array.from({ length: total }, (_, index) => hostsOfShard(fleet, { index: index + 1, total }));
      expect(shares.flat().sort()).toEqual([...fleet].sort());
      for (const share of shares) expect(Math.abs(share.length - fleet.length / total)).toBeLessThan((fleet.length / total) * 0.2);
    }
  });

  it('is a fixed function of the name: these shares never change (a change would move hosts between runs)', () => {
    expect(['web01', 'web02', 'db01', 'host0001.dc1'].map((host) => shardOf(host, 4))).toEqual(FIXED);
  });

  it('adding or removing hosts moves no other host', () => {
    const more = [...fleet, ...Array.from({ length: 500 }, (_, index) => `new${index}`)];
    const fewer = fleet.filter((_, index) => index % 5 !== 0);
    for (const total of [4, 16]) {
      for (const host of fewer) expect(shardOf(host, total)).toBe(shardOf(host, total));
      const before = new Map(fleet.map((host) => [host, shardOf(host, total)]));
      for (const index of [1, total]) {
        for (const host of hostsOfShard(more, { index, total })) if (before.has(host)) expect(before.get(host)).toBe(index);
        for (const host of hostsOfShard(fewer, { index, total })) expect(before.get(host)).toBe(index);
      }
    }
  });
});
