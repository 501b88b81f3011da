import { describe, expect, it } from 'vitest';
import { parseMasterTree } from '../config/master-tree.js';
import { parseBuildParents, parseCiStage, planInvocations, type CiRequest } from './plan-invocations.js';

const CONFIG = `
configuration:
  ignore_stage_in_conffs: [pb_slow.yml]
"debian-12-generic-amd64.raw":
  name: debian-12/iso
  master-12-base:
    stages: [pb_base.yml, pb_slow.yml]
    master-12-web:
      stages: [feature@pb_web.yml]
      conffs: "web*"
      branch: webfix
    master-12-tools:
      stages: [pb_tools.yml]
`;

async function plan(request: Partial<CiRequest> & { name: string }, existing: string[] = []): Promise<string[][]> {
  const tree = await parseMasterTree(CONFIG);
  return planInvocations(
    tree,
    { stage: 'rootfs', branch: 'master', buildParents: 0, ...request },
    { cwd: '/work', isoDir: '/srv/iso', exists: (file) => existing.includes(file) },
  ).map((invocation) => invocation.args);
}

describe('vauban-ci: invocations (A13)', () => {
  it('rootfs of the base imports the base file, never uploads', async () => {
    expect(await plan({ name: 'debian-12/iso' })).toEqual([
      ['--iso', '/work/debian-12-generic-amd64.raw', '--name', 'debian-12/iso', '--rootfs', 'yes', '--initramfs', 'no', '--conffs', 'no', '--upload', 'no', '--branch', 'master'],
    ]);
  });

  it('--no-cache (flag, or configuration.no_cache of config.yml) reaches every invocation (issue 12)', async () => {
    expect((await plan({ name: 'master-12-web', buildParents: Infinity, noCache: true })).every((args) => args.includes('--no-cache'))).toBe(true);
    expect((await plan({ name: 'master-12-web' }))[0]).not.toContain('--no-cache');
    const tree = await parseMasterTree(CONFIG.replace('configuration:\n', 'configuration:\n  no_cache: true\n'));
    expect(tree.noCache).toBe(true);
    const [invocation] = planInvocations(tree, { name: 'master-12-web', stage: 'conffs', branch: 'master', buildParents: 0 }, { cwd: '/w', isoDir: '/srv/iso', exists: () => false });
    expect(invocation?.args).toContain('--no-cache');
  });

  it('looks the base file up under /srv/iso first', async () => {
    const [args] = await plan({ name: 'debian-12/iso' }, ['/srv/iso/debian-12-generic-amd64.raw']);
    expect(args?.slice(0, 2)).toEqual(['--iso', '/srv/iso/debian-12-generic-amd64.raw']);
  });

  it('rootfs of a master builds on its parent with its own stages, uploads the requested master', async () => {
    expect(await plan({ name: 'master-12-tools' })).toEqual([
      ['--source-image', 'master-12-base', '--name', 'master-12-tools', '--rootfs', 'yes', '--initramfs', 'no', '--conffs', 'no', '--upload', 'yes', '--branch', 'master', 'pb_tools.yml'],
    ]);
  });

  it('uses the master branch unless another branch is requested', async () => {
    expect((await plan({ name: 'master-12-web' }))[0]).toContain('webfix');
    expect((await plan({ name: 'master-12-web', branch: 'hotfix' }))[0]).toContain('hotfix');
  });

  it('conffs: the whole chain of stages, root first, minus the ignored ones', async () => {
    expect(await plan({ name: 'master-12-web', stage: 'conffs' })).toEqual([
      ['--source-image', 'master-12-web', '--name', 'master-12-web', '--ansible-host', 'web*', '--rootfs', 'no', '--initramfs', 'no', '--conffs', 'yes', '--upload', 'yes', '--branch', 'webfix', 'pb_base.yml', 'feature@pb_web.yml'],
    ]);
  });

  it('conffs of a master without a conffs key: nothing to do', async () => {
    expect(await plan({ name: 'master-12-tools', stage: 'conffs' })).toEqual([]);
  });

  it('initramfs: kernel and initramfs from the base file', async () => {
    expect(await plan({ name: 'master-12-web', stage: 'initramfs' })).toEqual([
      ['--iso', '/work/debian-12-generic-amd64.raw', '--name', 'master-12-web', '--rootfs', 'no', '--initramfs', 'yes', '--conffs', 'no', '--upload', 'yes'],
    ]);
  });

  it('all: rootfs, conffs, initramfs in that order', async () => {
    const invocations = await plan({ name: 'master-12-web', stage: 'all' });
    expect(invocations.map((args) => args.slice(args.indexOf('--rootfs'), args.indexOf('--rootfs') + 6).join(' '))).toEqual([
      '--rootfs yes --initramfs no --conffs no',
      '--rootfs no --initramfs no --conffs yes',
      '--rootfs no --initramfs yes --conffs no',
    ]);
  });

  it('build_parents=-1 on rootfs builds every ancestor first, root first', async () => {
    const invocations = await plan({ name: 'master-12-web', buildParents: Infinity });
    expect(invocations.map((args) => args[args.indexOf('--name') + 1])).toEqual(['debian-12/iso', 'master-12-base', 'master-12-web']);
    // Only the requested master (and masters with conffs) upload; the base never.
    expect(invocations.map((args) => args[args.indexOf('--upload') + 1])).toEqual(['no', 'no', 'yes']);
    // The requested master's branch is handed down to its ancestors, as ci.py did.
    expect(invocations.map((args) => args[args.indexOf('--branch') + 1])).toEqual(['webfix', 'webfix', 'webfix']);
  });

  it('build_parents=N builds N levels of parents', async () => {
    const invocations = await plan({ name: 'master-12-web', buildParents: 1 });
    expect(invocations.map((args) => args[args.indexOf('--name') + 1])).toEqual(['master-12-base', 'master-12-web']);
  });

  it('for conffs and initramfs, the parent is the master\'s own rootfs', async () => {
    const conffs = await plan({ name: 'master-12-web', stage: 'conffs', buildParents: 1 });
    expect(conffs.map((args) => `${args[args.indexOf('--name') + 1]} rootfs=${args[args.indexOf('--rootfs') + 1]}`)).toEqual([
      'master-12-web rootfs=yes',
      'master-12-web rootfs=no',
    ]);
    const deeper = await plan({ name: 'master-12-web', stage: 'initramfs', buildParents: 2 });
    expect(deeper.map((args) => args[args.indexOf('--name') + 1])).toEqual(['master-12-base', 'master-12-web', 'master-12-web']);
  });

  it('all with parents applies all to every ancestor', async () => {
    const invocations = await plan({ name: 'master-12-web', stage: 'all', buildParents: Infinity });
    // base: rootfs + initramfs (no conffs key); master-12-base: rootfs + initramfs; web: rootfs, conffs, initramfs.
    expect(invocations).toHaveLength(7);
  });

  it('names an unknown master', async () => {
    await expect(plan({ name: 'master-nope' })).rejects.toThrow(/unknown master 'master-nope'/);
  });
});

describe('vauban-ci: values', () => {
  it('reads build_parents as ci.py did', () => {
    expect(parseBuildParents(undefined)).toBe(0);
    expect(parseBuildParents('no')).toBe(0);
    expect(parseBuildParents('yes')).toBe(Infinity);
    expect(parseBuildParents('-1')).toBe(Infinity);
    expect(parseBuildParents('3')).toBe(3);
    expect(() => parseBuildParents('many')).toThrow(/invalid build_parents 'many'/);
  });

  it('knows the four stages', () => {
    expect(parseCiStage('all')).toBe('all');
    expect(() => parseCiStage('kernel')).toThrow(/unknown stage 'kernel'/);
  });
});

describe('vauban-ci: a staged release built by several jobs (issue 29)', () => {
  const R = '20261207T150000Z-p42';

  it("the requested master's uploads join the staged release; its parents' are released as before", async () => {
    const invocations = await plan({ name: 'master-12-web', stage: 'all', buildParents: 1, release: R });
    const withRelease = invocations.filter((args) => args.includes('--release'));
    expect(withRelease.length).toBe(3);
    for (const args of withRelease) expect(args[args.indexOf('--release') + 1]).toBe(R);
    // The parent (master-12-base: no conffs, not requested) uploads nothing; the requested master's three do.
    expect(invocations.filter((args) => args.includes('master-12-base') && args[args.indexOf('--name') + 1] === 'master-12-base')[0]).not.toContain('--release');
  });

  it('a sharded conffs job builds its share of the hosts, into the staged release', async () => {
    const [args] = await plan({ name: 'master-12-web', stage: 'conffs', release: R, shard: { index: 2, total: 3 } });
    expect(args).toEqual(expect.arrayContaining(['--shard', '2/3', '--release', R, '--ansible-host', 'web*']));
  });

  it('refuses a sharded job of another stage, or without a staged release', async () => {
    await expect(plan({ name: 'master-12-web', stage: 'rootfs', release: R, shard: { index: 1, total: 2 } })).rejects.toThrow(/builds conffs only: its stage is rootfs/);
    await expect(plan({ name: 'master-12-web', stage: 'conffs', shard: { index: 1, total: 2 } })).rejects.toThrow(/set staged=yes/);
  });

  it('the promote stage makes the staged release live, checking the shards when their number is given', async () => {
    expect(await plan({ name: 'master-12-web', stage: 'promote', release: R, shards: 3 })).toEqual([['promote', 'master-12-web', R, '--shards', '3']]);
    expect(await plan({ name: 'master-12-web', stage: 'promote', release: R })).toEqual([['promote', 'master-12-web', R]]);
    await expect(plan({ name: 'master-12-web', stage: 'promote' })).rejects.toThrow(/makes a staged release live/);
  });
});
