// Before any work: everything that can be known wrong without building is
// checked, so that bad input stops the run with one clear message and nothing
// built or changed: the stages' branches and playbooks, the conffs hosts, the
// vault passphrase, the registry login, the PXE servers.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { VaubanError } from '../errors.js';
import { sshFailure } from '../pxe/pxe-server.js';
import { pxeTargets } from '../pxe/ssh-options.js';
import { sshRun } from '../system/ssh.js';
import { readVaultEntry } from '../vault/vault.js';
import { checkStages } from './apply-stages.js';
import { takeConffsBaseline } from './build-conffs.js';
import { HostContainersAhead } from '../conffs/host-containers-ahead.js';
import type { PlayControllers } from '../ansible/play-controller.js';
import { listInventory, resolveHosts, type ResolvedHosts } from '../ansible/resolve-hosts.js';

export interface Preflight {
  /**
   * The conffs hosts, resolved by Ansible in the source image, when the run
   * builds conffs from an existing image (-s); a run from a base file (-f)
   * resolves them once its source image is imported.
   */
  hosts: ResolvedHosts | undefined;
  /** The containers of the hosts -a names one by one, started while the hosts are resolved (issue 11). */
  ahead: HostContainersAhead | undefined;
}

export async function preflight(ctx: Context, controllers: PlayControllers): Promise<Preflight> {
  return ctx.reporter.step('preflight: stages, hosts, vault, registry, servers', async () => {
    if (ctx.runs('apply_stages') || ctx.runs('build_conffs') || ctx.runs('import_iso')) {
      // Every branch fetched (one after the other, in one mirror); no working copy: the playbooks are looked up in the commits.
      const branches = new Set([ctx.options.branch, ...ctx.options.stages.map((stage) => stage.branch ?? ctx.options.branch)]);
      await allInOrder([...branches].map((branch) => ctx.ansible.commit(branch)));
      await checkStages(ctx, ctx.options.stages);
    }
    const source = ctx.options.sourceImage;
    // A log folder that is a link or another user's stops the run now, not per host.
    if (ctx.runs('build_conffs')) void ctx.logDir;
    // The checks do not depend on each other: they run at once (the host resolution is seconds of Ansible in a
    // container, the others wait on gpg, the registry or the servers). A failure is reported in this order.
    const conffsOnSource = ctx.runs('build_conffs') && !ctx.runs('import_iso') && source !== undefined;
    // Not a check: work the hosts need that does not depend on which they are, begun while Ansible lists them;
    // the hosts wait for it when they need it (and report its failure), the preflight does not.
    if (conffsOnSource) ctx.cleanup.background('the conffs baseline', takeConffsBaseline(ctx, source).catch(() => undefined));
    // Also the inventory of each stage branch other than the run's, which each host's decision reads (its variables
    // there): listed beside the hosts' resolution, with that branch's controller, instead of after it (issue 28: a
    // one-host change waits for it). A kept listing makes it free; its failure is the decisions' to report.
    if (conffsOnSource) {
      const others = new Set(ctx.options.stages.map((stage) => stage.branch ?? ctx.options.branch).filter((branch) => branch !== ctx.options.branch));
      for (const branch of others) ctx.cleanup.background(`the inventory of branch ${branch}`, listInventory(ctx, source, branch, undefined, controllers).then(ignore, ignore));
    }
    const resolving = conffsOnSource ? resolveHosts(ctx, source, controllers) : Promise.resolve(undefined);
    // Once the hosts' controller loads Ansible (its container made and started), this process and the engine
    // have time to spare: the containers of the hosts -a lists start then, and the vault is checked (a few
    // tenths of a second of this process' own CPU, its key derivation in JavaScript).
    const idle = conffsOnSource ? Promise.race([controllers.loading(), resolving.then(ignore, ignore)]) : Promise.resolve();
    const ahead = conffsOnSource ? HostContainersAhead.start(ctx, source, ctx.options.ansibleHost ?? '', idle) : undefined;
    const [hosts] = await allInOrder([
      resolving,
      ctx.runs('build_rootfs') || ctx.runs('build_conffs') ? idle.then(() => assertVaultPassphrase(ctx)) : Promise.resolve(),
      // The project's key signs the images built and the release uploaded (issue 30): a wrong passphrase stops the
      // run before anything is built.
      ctx.runs('import_iso') || ctx.runs('apply_stages') || ctx.runs('upload') ? idle.then(() => ctx.projectSigner()) : Promise.resolve(),
      ctx.registry.enabled && (ctx.runs('import_iso') || ctx.runs('apply_stages') || ctx.runs('build_conffs')) ? ctx.registry.login() : Promise.resolve(),
      ctx.runs('upload') ? assertServersReachable(ctx) : Promise.resolve(),
    ] as const);
    return { hosts, ahead };
  });
}

const ignore = (): void => undefined;

/** Waits for every check; the first failure in the list's order (not in time) is the one thrown. */
async function allInOrder<T extends readonly unknown[]>(checks: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(checks);
  const failed = settled.find((one): one is PromiseRejectedResult => one.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return settled.map((one) => (one as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A wrong passphrase fails now, on an entry that exists, and changes nothing. */
async function assertVaultPassphrase(ctx: Context): Promise<void> {
  const passphrase = ctx.settings.values.VAULTED_SSHD_KEYS_KEY ?? '';
  const entry = firstVaultEntry(ctx.vaultDir);
  if (entry !== undefined) await readVaultEntry(ctx.vaultDir, entry, passphrase);
}

function firstVaultEntry(dir: string, prefix = ''): string | undefined {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile() && entry.name.endsWith('.tar.gpg')) return `${prefix}${entry.name.slice(0, -'.tar.gpg'.length)}`;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      const found = firstVaultEntry(path.join(dir, entry.name), `${prefix}${entry.name}/`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

async function assertServersReachable(ctx: Context): Promise<void> {
  for (const target of pxeTargets(ctx.settings.values, ctx.workDir)) {
    const result = await sshRun(target, 'true', { ...ctx.runOptions, allowFailure: true });
    if (result.exitCode !== 0) {
      throw new VaubanError(`cannot reach or log in to the PXE server ${target.destination} over ssh: ${sshFailure(result.stderr, result.exitCode)}`);
    }
  }
}
