// The work of vauban-version-control (A14), with the same steps, context and
// run lifecycle as a build (the folder's lock, new vault entries committed in
// CI): build_rootfs of the pulled image, then upload of rootfs.tgz only.
import type { MainIo } from './cli/vauban.js';
import type { LoadedSettings } from './config/settings.js';
import { Context } from './context.js';
import { assertImageReference, assertMasterName } from './image-name.js';
import { ROOTFS_TARBALL } from './local-layout.js';
import type { Plan } from './plan.js';
import type { Reporter } from './reporter.js';
import { buildRootfs } from './steps/build-rootfs.js';
import { upload } from './steps/upload.js';
import { pullImage } from './system/docker/registry.js';

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
  assertMasterName(input.master, '-m, --master');
  assertImageReference(`${input.image}:${input.tag}`, '-i/-t');
  const plan: Plan = {
    steps: [
      { id: 'build_rootfs', description: `rootfs of ${input.image}:${input.tag}` },
      { id: 'upload', description: `${ROOTFS_TARBALL} to ${input.master}/` },
    ],
    prefix: input.master,
    source: undefined,
    images: [],
    conffs: undefined,
    artifacts: [ROOTFS_TARBALL],
    uploads: [],
    registry: input.settings.values.REGISTRY_HOSTNAME,
  };
  const { runSession } = await import('./cli/session.js');
  return runSession({
    io: input.io,
    settings: input.settings,
    reporter: input.reporter,
    debug: input.debug,
    command: `vauban-version-control ${input.io.argv.join(' ')}`,
    work: async ({ cleanup, report, signal, workDir }) => {
      const ctx = new Context({
        options: {
          rootfs: true, initramfs: false, conffs: false, upload: true, iso: undefined, debianRelease: undefined, sourceImage: undefined,
          sshPrivKey: './ansible-ro', name: input.master, branch: 'master', ansibleHost: undefined, stages: [],
          compression: input.compression, conffsParallel: undefined, noCache: false, dryRun: false, json: false, debug: input.debug,
        },
        settings: input.settings,
        plan,
        reporter: input.reporter,
        cleanup,
        report,
        signal,
        cwd: input.io.cwd,
        installDir: input.installDir,
        workDir,
      });
      const remote = `${ctx.registry.remoteName(input.image)}:${input.tag}`;
      await input.reporter.step(`pull ${remote}`, async () => pullImage(await ctx.docker(), remote, await ctx.registry.login(), ctx.signal));
      // The rootfs gets the sshd keys of the master it is deployed as.
      const rootfs = await buildRootfs(ctx, remote);
      await upload(ctx, { kernel: undefined, rootfs: rootfs && { ...rootfs, kernelVersion: undefined }, conffs: undefined });
      await ctx.registry.markDeployed(input.image, input.tag);
      return 0;
    },
  });
}
