// The work of vauban-version-control (A14), with the same steps and context
// as a build: build_rootfs of the pulled image, then upload of rootfs.tgz only.
import type { MainIo } from './cli/vauban.js';
import type { LoadedSettings } from './config/settings.js';
import { Context } from './context.js';
import { VaubanError } from './errors.js';
import { assertImageReference } from './image-name.js';
import type { Plan } from './plan.js';
import type { Reporter } from './reporter.js';
import { emptyReport } from './run-report.js';
import { buildRootfs } from './steps/build-rootfs.js';
import { upload } from './steps/upload.js';
import { CleanupStack } from './system/cleanup.js';
import { pullImage } from './system/docker/registry.js';
import { createWorkDir } from './system/work-dir.js';
import { printRecap } from './cli/recap.js';
import { describeFailure } from './cli/fail.js';
import { interruptedExitCode, watchInterruptions } from './cli/command.js';

export interface RedeployInput {
  io: MainIo;
  settings: LoadedSettings;
  reporter: Reporter;
  installDir: string;
  tag: string;
  image: string;
  master: string;
  compression?: 'xz' | 'zstd';
  debug: boolean;
}

export async function redeploy(input: RedeployInput): Promise<number> {
  assertImageReference(input.master, '-m, --master');
  assertImageReference(`${input.image}:${input.tag}`, '-i/-t');
  const plan: Plan = {
    steps: [
      { id: 'build_rootfs', description: `rootfs of ${input.image}:${input.tag}` },
      { id: 'upload', description: `rootfs.tgz to ${input.master}/` },
    ],
    prefix: input.master,
    source: undefined,
    images: [],
    conffs: undefined,
    artifacts: ['rootfs.tgz'],
    uploads: [],
    registry: input.settings.values.REGISTRY_HOSTNAME,
  };
  const cleanup = new CleanupStack();
  const interruption = watchInterruptions(input.reporter);
  const report = emptyReport();
  const ctx = new Context({
    options: {
      rootfs: true, initramfs: false, conffs: false, upload: true, iso: undefined, debianRelease: undefined, sourceImage: undefined,
      sshPrivKey: './ansible-ro', name: input.master, branch: 'master', ansibleHost: undefined, stages: [],
      compression: input.compression, conffsParallel: undefined, dryRun: false, json: false, debug: input.debug,
    },
    settings: input.settings,
    plan,
    reporter: input.reporter,
    cleanup,
    report,
    signal: interruption.signal,
    cwd: input.io.cwd,
    installDir: input.installDir,
    workDir: createWorkDir(input.settings.values.VAUBAN_WORK_DIR ?? '/var/tmp', cleanup),
  });
  let exitCode = 0;
  try {
    const remote = `${ctx.registry.remoteName(input.image)}:${input.tag}`;
    await input.reporter.step(`pull ${remote}`, async () => pullImage(await ctx.docker(), remote, await ctx.registry.login(), ctx.signal));
    // The rootfs gets the sshd keys of the master it is deployed as.
    const rootfs = await buildRootfs(ctx, remote);
    await upload(ctx, { kernel: undefined, rootfs: rootfs && { ...rootfs, kernelVersion: undefined }, conffs: undefined });
    await ctx.registry.markDeployed(input.image, input.tag);
  } catch (error) {
    const failure = describeFailure(error, input.debug);
    input.reporter.error(failure.text.replace(/^error: /, ''));
    exitCode = failure.exitCode;
  } finally {
    await cleanup.unwind((label, error) => input.reporter.warn(`cleanup of ${label} failed: ${(error as Error).message}`));
    interruption.dispose();
  }
  const signal = interruption.received();
  if (signal !== undefined) exitCode = interruptedExitCode(signal);
  printRecap(input.reporter, report, exitCode === 0);
  return exitCode;
}
