import { describe, expect, it } from 'vitest';
import { decideCache, describeChange, type CachePolicy } from './decide.js';
import { hiddenPart, inputsDigest } from './inputs.js';
import { stageParts } from './parts.js';

const now = new Date('2026-11-29T12:00:00Z');
const policy: CachePolicy = { noCache: false, maxAgeDays: 7, now };
const parts = stageParts({
  parent: 'sha256:aaaa', playbook: 'pb.yml', branch: 'master', tree: '83a49cb0000', vars: 'v1', inventory: undefined, hostname: 'm',
  script: 'abc', ansibleRootDir: undefined, extraArgs: '-e secret=hunter2', hookPre: undefined, hookPost: undefined,
});

describe('inputsDigest', () => {
  it('does not depend on the order of the parts, and changes with any of them', () => {
    expect(inputsDigest({ a: '1', b: '2' })).toBe(inputsDigest({ b: '2', a: '1' }));
    expect(inputsDigest({ a: '1', b: '2' })).not.toBe(inputsDigest({ a: '1', b: '3' }));
    expect(inputsDigest(parts)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('never shows a value that may carry a secret', () => {
    expect(JSON.stringify(parts)).not.toContain('hunter2');
    expect(parts.ANSIBLE_EXTRA_ARGS).toBe(hiddenPart('-e secret=hunter2'));
    expect(hiddenPart('')).toBe('');
  });
});

describe('decideCache', () => {
  const found = { id: 'sha256:bbbb', built: new Date('2026-11-27T12:00:00Z') };

  it('reuses a build of the same inputs younger than the maximum age', () => {
    expect(decideCache({ policy, parts, found, previous: undefined, parentRebuilt: false })).toEqual({
      action: 'reuse', reason: 'inputs unchanged (built 2026-11-27 12:00 UTC)', reused: found,
    });
  });

  it('rebuilds one whose build date is ahead of this clock (a planted far-future date would stay fresh for ever), allowing a little skew', () => {
    const planted = { id: 'sha256:cccc', built: new Date('2099-01-01T00:00:00Z') };
    expect(decideCache({ policy, parts, found: planted, previous: undefined, parentRebuilt: false })).toEqual({
      action: 'build', reason: 'its build date 2099-01-01 00:00 UTC is in the future: not believed',
    });
    expect(decideCache({ policy, parts, found: { ...found, built: new Date(now.getTime() + 5 * 60_000) }, previous: undefined, parentRebuilt: false }).action).toBe('reuse');
  });

  it('rebuilds one older than the maximum age, and everything with 0 days or --no-cache', () => {
    expect(decideCache({ policy: { ...policy, maxAgeDays: 2 }, parts, found, previous: undefined, parentRebuilt: false }).reason).toBe('older than 2 days (built 2026-11-27 12:00 UTC)');
    expect(decideCache({ policy: { ...policy, maxAgeDays: 0 }, parts, found: { ...found, built: now }, previous: undefined, parentRebuilt: false }).action).toBe('build');
    expect(decideCache({ policy: { ...policy, noCache: true }, parts, found, previous: undefined, parentRebuilt: false })).toEqual({ action: 'build', reason: '--no-cache' });
  });

  it('says why when nothing matches: parent rebuilt, a moved branch, a changed setting, nothing known', () => {
    expect(decideCache({ policy, parts, found: undefined, previous: undefined, parentRebuilt: true }).reason).toBe('parent rebuilt');
    expect(decideCache({ policy, parts, found: undefined, previous: undefined, parentRebuilt: false }).reason).toBe('no image with these inputs');
    const moved = { ...parts, tree: '1f02a7e1111' };
    expect(decideCache({ policy, parts: moved, found: undefined, previous: { parts }, parentRebuilt: false }).reason).toBe('branch master: its files changed (not only its inventory)');
    expect(describeChange(parts, { ...parts, vars: 'v2' })).toBe('variables or groups of m changed (inventory, group_vars, host_vars)');
    expect(describeChange({ kind: 'conffs', host: 'web01', vars: 'v1' }, { kind: 'conffs', host: 'web01', vars: 'v2' })).toBe('host vars changed');
    expect(describeChange(parts, { ...parts, ANSIBLE_EXTRA_ARGS: '' })).toBe('ANSIBLE_EXTRA_ARGS changed');
    expect(describeChange(parts, { ...parts, branch: 'feature', tree: '1f02a7e' })).toBe('branch changed master → feature');
  });

  it('rebuilds an artifact that no longer matches its record, whatever its age', () => {
    expect(decideCache({ policy, parts, found, previous: undefined, parentRebuilt: false, invalid: 'rootfs.tgz on disk does not match its recorded sha256' })).toEqual({
      action: 'build', reason: 'rootfs.tgz on disk does not match its recorded sha256',
    });
  });
});
