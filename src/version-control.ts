// The work of vauban-version-control (A14), with the same steps, context and
// run lifecycle as a build (the folder's lock, new vault entries committed in
// CI): build_rootfs of the pulled image, then upload of rootfs.tgz only.
import type { LoadedSettings } from './config/settings.js';
import { Context, type RunResources } from './context.js';
import { assertImageReference, assertMasterName } from './model/image-name.js';
import { vaubanOptions } from './model/options.js';
import { settingsFacts } from './model/plan.js';
import { registryImageName } from './registry.js';
import type { Reporter } from './reporter.js';
import { buildRootfs } from './steps/build-rootfs.js';
import { upload } from './steps/upload.js';
import { pullImage } from './system/docker/registry.js';

export interface RedeployInput {
  /** The working directory: vault/ and the outputs. */
  cwd: string;
  settings: LoadedSettings;
  reporter: Reporter;
  installDir: string;
  tag: string;
  image: string;
  master: string;
  compression?: 'xz' | 'zstd';
  debug: boolean;
}

/** Fails before anything is acquired when the names given cannot be used. */
export function checkRedeploy(input: Pick<RedeployInput, 'master' | 'image' | 'tag'>): void {
  assertMasterName(input.master, '-m, --master');
  assertImageReference(`${input.image}:${input.tag}`, '-i/-t');
}

export async function redeploy(input: RedeployInput, { cleanup, report, signal, workDir }: RunResources): Promise<number> {
  const remote = `${registryImageName(input.settings.values.REGISTRY_HOSTNAME ?? '', input.image)}:${input.tag}`;
  const ctx = new Context({
    options: vaubanOptions({ rootfs: true, upload: true, name: input.master, compression: input.compression, debug: input.debug, redeploy: remote }),
    facts: settingsFacts(input.settings.values),
    settings: input.settings,
    reporter: input.reporter,
    cleanup,
    report,
    signal,
    cwd: input.cwd,
    installDir: input.installDir,
    workDir,
  });
  await input.reporter.step(`pull ${remote}`, async () => {
    await pullImage(await ctx.docker(), remote, await ctx.registry.login(), ctx.signal);
    // A dated tag anyone who can push could have replaced: deployed only when the project's key signed it (issue 30).
    await ctx.registry.assertVouched(remote);
  });
  // The rootfs gets the sshd keys of the master it is deployed as.
  const rootfs = await buildRootfs(ctx, remote);
  await upload(ctx, { kernel: undefined, rootfs: rootfs && { ...rootfs, kernelVersion: undefined }, conffs: undefined });
  await ctx.registry.markDeployed(input.image, input.tag);
  return 0;
}
