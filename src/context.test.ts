import { describe, expect, it } from 'vitest';
import type { LoadedSettings } from './config/settings.js';
import { Context, type ContextInit } from './context.js';
import type { VaubanOptions } from './model/options.js';
import { OS_NAME_PLACEHOLDER, planRun, plannedImage, plannedStageImages, type PlanFacts } from './model/plan.js';
import type { Reporter } from './reporter.js';
import { emptyReport } from './model/run-report.js';
import { parseStage } from './model/stage.js';
import { CleanupStack } from './system/cleanup.js';

const OPTIONS: VaubanOptions = {
  rootfs: true,
  initramfs: false,
  conffs: true,
  upload: false,
  iso: 'debian-12.raw',
  debianRelease: undefined,
  sourceImage: undefined,
  sshPrivKey: './ansible-ro',
  name: 'master-12-web',
  branch: 'master',
  ansibleHost: 'web*',
  stages: [parseStage('pb_web.yml')],
  compression: undefined,
  conffsParallel: undefined,
  noCache: false,
  dryRun: false,
  json: true,
  debug: false,
};

function contextOf(facts: PlanFacts): Context {
  const settings: LoadedSettings = { values: {}, sources: {}, ci: false, secrets: [] };
  const init: ContextInit = {
    options: OPTIONS,
    settings,
    facts,
    // Never called: the plan is pure.
    reporter: {} as Reporter,
    cleanup: new CleanupStack(),
    report: emptyReport(),
    signal: new AbortController().signal,
    cwd: '/srv/project',
    installDir: '/opt/vauban',
    workDir: '/var/tmp/vauban-abc123',
  };
  return new Context(init);
}

describe("the run's plan, refined as facts arrive (B12)", () => {
  it('takes the OS name once the base is imported, the hosts once resolved, and keeps what it knew', () => {
    const ctx = contextOf({ baseKind: 'raw disk image' });
    expect(ctx.plan.prefix).toBe(OS_NAME_PLACEHOLDER);
    ctx.learn({ osName: 'debian-12.8' });
    ctx.learn({ hosts: ['web01', 'web02'] });
    expect(ctx.plan).toEqual(planRun(OPTIONS, { baseKind: 'raw disk image', osName: 'debian-12.8', hosts: ['web01', 'web02'] }));
    expect(ctx.plan.artifacts.map((artifact) => artifact.file)).toEqual(['rootfs.tgz', 'sbom.cdx.json', 'overlayfs/overlayfs-web01/conffs-web01.tgz', 'overlayfs/overlayfs-web02/conffs-web02.tgz']);
    expect(ctx.runStamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('names the images the steps make from the plan: the base pair once the OS name is known, then each stage and the master', () => {
    const ctx = contextOf({});
    ctx.learn({ osName: 'debian-12.8' });
    expect(plannedImage(ctx.plan, 'raw-base').name).toBe('debian-12.8/raw-iso');
    expect(plannedImage(ctx.plan, 'base').name).toBe('debian-12.8/iso');
    expect(ctx.plan.source).toBe('debian-12.8/iso');
    expect(plannedStageImages(ctx.plan).map((image) => [image.name, image.from, image.branch, image.hostname])).toEqual([['debian-12.8/pb_web.yml', 'debian-12.8/iso', 'master', 'master-12-web']]);
    expect(plannedImage(ctx.plan, 'master')).toMatchObject({ name: 'master-12-web', from: 'debian-12.8/pb_web.yml' });
  });
});
