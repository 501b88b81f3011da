import { describe, expect, it } from 'vitest';
import { flatLinkInRelease, isReleaseName, normalizeMac, previousRelease, releaseName, releaseOfCurrent, releasesToPrune } from './layout.js';
import { parseMasterListing } from './master-state.js';

describe('the PXE server layout (B14, B15)', () => {
  it('names a release by its UTC start (sortable) and the run', () => {
    expect(releaseName(new Date('2026-01-20T14:32:05.123Z'), 'Ab12_cd')).toBe('20260120T143205Z-ab12cd');
    expect(isReleaseName('20260120T143205Z-ab12cd')).toBe(true);
    for (const bad of ['.partial-x', '../x', 'a/b', '', 'a..b']) expect(isReleaseName(bad), bad).toBe(false);
  });

  it('reads current only when it names a release', () => {
    expect(releaseOfCurrent('releases/20260120T143205Z-a')).toBe('20260120T143205Z-a');
    expect(releaseOfCurrent('releases/.partial-x')).toBeUndefined();
    expect(releaseOfCurrent('/etc')).toBeUndefined();
  });

  it('keeps the newest N releases and always the live one', () => {
    const releases = ['r1', 'r2', 'r3', 'r4', 'r5'];
    expect(releasesToPrune(releases, 'r5', 3)).toEqual(['r1', 'r2']);
    expect(releasesToPrune(releases, 'r1', 2)).toEqual(['r2', 'r3']);
    expect(releasesToPrune(releases, 'r5', 0)).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('rolls back to the release before the live one', () => {
    expect(previousRelease(['r1', 'r3', 'r2'], 'r3')).toBe('r2');
    expect(previousRelease(['r1', 'r2'], 'r1')).toBeUndefined();
  });

  it('spells a MAC address as iPXE\'s ${net0/mac:hexhyp}', () => {
    expect(normalizeMac('52:54:00:AB:cd:0f')).toBe('52-54-00-ab-cd-0f');
    expect(normalizeMac('52-54-00-ab-cd-0f')).toBe('52-54-00-ab-cd-0f');
    for (const bad of ['52:54:00:ab:cd', 'zz:54:00:ab:cd:0f', '52:54:00:ab:cd:0f; reboot']) expect(normalizeMac(bad), bad).toBeUndefined();
  });

  it('moves the kernel links of the flat layout into a release', () => {
    expect(flatLinkInRelease('../linux/vmlinuz-6.1.0-28-amd64')).toBe('../../../linux/vmlinuz-6.1.0-28-amd64');
    expect(flatLinkInRelease('/boot/vmlinuz')).toBeUndefined();
    expect(flatLinkInRelease('../linux/../../etc/passwd')).toBeUndefined();
    expect(flatLinkInRelease('../linux/vmlinuz-../../x')).toBeUndefined();
  });

  it('parses a listing of find -printf: releases, current, partial folders left out', () => {
    const entries = [
      ['l', 'current', 'releases/r2'],
      ['d', 'releases', ''],
      ['d', 'releases/r1', ''],
      ['f', 'releases/r1/rootfs.tgz', ''],
      ['d', 'releases/r2', ''],
      ['f', 'releases/r2/rootfs.tgz', ''],
      ['l', 'releases/r2/vmlinuz', '../../../linux/vmlinuz-6.1.0-28-amd64'],
      // Names and targets vauban would never make: not read as members (issue 30).
      ['l', 'releases/r2/initramfs.img', '../../../linux/../../etc/shadow'],
      ['f', 'releases/r2/..', ''],
      ['f', 'releases/r2/.hidden', ''],
      ['f', 'releases/r2/a b', ''],
      ['l', 'vmlinuz', '../linux/../../x'],
      ['d', 'releases/.partial-r3', ''],
      ['f', 'releases/.partial-r3/rootfs.tgz', ''],
      ['l', 'rootfs.tgz', 'current/rootfs.tgz'],
    ];
    const state = parseMasterListing(`${entries.map((entry) => entry.join('\0')).join('\0')}\0`);
    expect(state.current).toBe('r2');
    expect([...state.releases.keys()].sort()).toEqual(['r1', 'r2']);
    expect(state.releases.get('r2')).toEqual([
      { name: 'rootfs.tgz', type: 'f', target: '' },
      { name: 'vmlinuz', type: 'l', target: '../../../linux/vmlinuz-6.1.0-28-amd64' },
    ]);
    expect(state.top).toEqual([{ name: 'rootfs.tgz', type: 'l', target: 'current/rootfs.tgz' }]);
    // current naming a release that is not there is no current.
    expect(parseMasterListing(['l', 'current', 'releases/gone', ''].join('\0')).current).toBeUndefined();
  });
});
