import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRun } from '../model/plan.js';
import { emptyReport } from '../model/run-report.js';
import { parseVaubanArgs } from './vauban-args.js';
import { planToJson } from './print-plan.js';
import { runToJson, unstartedRunToJson } from './run-json.js';

function optionsOf(argv: string[]) {
  const outcome = parseVaubanArgs(argv, { out: () => undefined, err: () => undefined });
  if (outcome.kind !== 'run') throw new Error('parse failed');
  return outcome.options;
}

describe('--json of a real run (issue 15, item 5)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vauban-run-json-'));
    writeFileSync(path.join(dir, 'rootfs.tgz'), 'rootfs');
    mkdirSync(path.join(dir, 'overlayfs', '2026-01-02T03:04:05Z-overlayfs-web01'), { recursive: true });
    writeFileSync(path.join(dir, 'overlayfs', '2026-01-02T03:04:05Z-overlayfs-web01', 'conffs-web01.tgz'), 'conffs');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the dry run\'s options and plan, then the images with ids (the source reused), artifacts with size and sha256, hosts, steps, exit reason', async () => {
    const options = optionsOf(['-s', 'debian-12.8/iso', '-n', 'master-web', '-a', 'web*', '-i', 'no', '-u', 'no', '--json', 'pb_base.yml']);
    const plan = planRun(options);
    const report = emptyReport();
    report.images.push('debian-12.8/pb_base.yml', 'master-web');
    // Issue 12: the stage's image was reused from an earlier run, the master tagged on it.
    report.cache.push(
      { kind: 'image', name: 'debian-12.8/pb_base.yml', action: 'reuse', reason: 'inputs unchanged (built 2026-01-01 00:00 UTC)', id: 'sha256:bbb' },
      { kind: 'image', name: 'master-web', action: 'reuse', reason: 'tag of debian-12.8/pb_base.yml', id: 'sha256:bbb' },
    );
    report.artifacts.push(path.join(dir, 'rootfs.tgz'));
    report.hosts.push({ host: 'web01', ok: true, log: '/var/log/vauban/debian-12.8-web01-x' }, { host: 'web02', ok: false, log: '/var/log/vauban/debian-12.8-web02-x', error: 'stage pb_base.yml failed' });
    const ids: Record<string, string> = { 'debian-12.8/iso': 'sha256:aaa', 'debian-12.8/pb_base.yml': 'sha256:bbb', 'master-web': 'sha256:bbb' };
    const text = await runToJson({
      options,
      plan,
      outcome: { exitCode: 1, report, failure: 'conffs failed for 1 of 2 host(s): web02', interruptedBy: undefined, startedAt: new Date('2026-01-02T03:04:00Z'), finishedAt: new Date('2026-01-02T03:04:12.34Z') },
      timings: [{ title: 'preflight: stages, hosts, vault, registry, servers', seconds: 0.31, ok: true }, { title: 'build_conffs: 2 host(s), 20 at a time', seconds: 5.26, ok: false }],
      outputDir: dir,
      runStamp: '2026-01-02T03:04:05Z',
      imageId: async (name) => ids[name],
    });
    const document = JSON.parse(text);
    const dry = JSON.parse(planToJson(options, plan, []));
    expect(document.options).toEqual(dry.options);
    expect(document.plan).toEqual(dry.plan);
    expect(document.result).toMatchObject({ ok: false, exit_code: 1, exit_reason: 'conffs failed for 1 of 2 host(s): web02', seconds: 12.3 });
    expect(document.result.images).toEqual([
      { name: 'debian-12.8/iso', from: null, step: null, playbook: null, branch: null, hostname: null, id: 'sha256:aaa', built: false, cache_reason: null },
      { ...dry.plan.images[0], id: 'sha256:bbb', built: false, cache_reason: 'inputs unchanged (built 2026-01-01 00:00 UTC)' },
      { ...dry.plan.images[1], id: 'sha256:bbb', built: false, cache_reason: 'tag of debian-12.8/pb_base.yml' },
    ]);
    expect(document.result.cache).toEqual([
      { kind: 'image', name: 'debian-12.8/pb_base.yml', action: 'reuse', reason: 'inputs unchanged (built 2026-01-01 00:00 UTC)' },
      { kind: 'image', name: 'master-web', action: 'reuse', reason: 'tag of debian-12.8/pb_base.yml' },
    ]);
    const conffs = path.join(dir, 'overlayfs', '2026-01-02T03:04:05Z-overlayfs-web01', 'conffs-web01.tgz');
    expect(document.result.artifacts).toEqual([
      { name: 'rootfs.tgz', path: path.join(dir, 'rootfs.tgz'), size: 6, sha256: createHash('sha256').update('rootfs').digest('hex') },
      { name: 'overlayfs/2026-01-02T03:04:05Z-overlayfs-web01/conffs-web01.tgz', path: conffs, size: 6, sha256: createHash('sha256').update('conffs').digest('hex') },
    ]);
    expect(document.result.hosts).toEqual([
      { host: 'web01', ok: true, log: '/var/log/vauban/debian-12.8-web01-x', conffs, error: null, failed_task: null, message: null, deletions: [] },
      { host: 'web02', ok: false, log: '/var/log/vauban/debian-12.8-web02-x', conffs: null, error: 'stage pb_base.yml failed', failed_task: null, message: null, deletions: [] },
    ]);
    expect(document.result.steps).toEqual([
      { step: 'preflight', title: 'preflight: stages, hosts, vault, registry, servers', ok: true, seconds: 0.3 },
      { step: 'build_conffs', title: 'build_conffs: 2 host(s), 20 at a time', ok: false, seconds: 5.3 },
    ]);
  });

  it('a base file\'s images match the plan\'s names with the OS name still unknown', async () => {
    const options = optionsOf(['-f', 'debian.raw', '-n', 'master-base', '-i', 'no', '-l', 'no', '-u', 'no', 'pb_base.yml']);
    const report = emptyReport();
    report.images.push('debian-12.8/raw-iso', 'debian-12.8/iso', 'debian-12.8/pb_base.yml', 'master-base');
    const outcome = { exitCode: 130, report, failure: 'interrupted by SIGINT', interruptedBy: 'SIGINT' as const, startedAt: new Date(), finishedAt: new Date() };
    const document = JSON.parse(await runToJson({ options, plan: planRun(options), outcome, timings: [], outputDir: dir, runStamp: undefined, imageId: async () => 'sha256:x' }));
    expect(document.result.images.map((image: { name: string; from: string; step: string }) => [image.name, image.from, image.step])).toEqual([
      ['debian-12.8/raw-iso', 'debian.raw', 'import_iso'],
      ['debian-12.8/iso', '<os-name>/raw-iso', 'import_iso'],
      ['debian-12.8/pb_base.yml', '<os-name>/iso', 'apply_stages'],
      ['master-base', '<os-name>/pb_base.yml', 'apply_stages'],
    ]);
    expect(document.result.exit_reason).toBe('interrupted by SIGINT');
  });

  it('a run that ended before any work: the same shape, its reason', () => {
    const options = optionsOf(['-s', 'x/iso', '-i', 'no', '-u', 'no', '--json']);
    const document = JSON.parse(unstartedRunToJson(options, planRun(options), 1, 'setting ANSIBLE_REPO is required by the requested steps but is not set'));
    expect(document.result).toMatchObject({ ok: false, exit_code: 1, exit_reason: 'setting ANSIBLE_REPO is required by the requested steps but is not set', images: [], hosts: [] });
    expect(document.plan.steps).toEqual(['apply_stages', 'build_rootfs']);
  });
});
