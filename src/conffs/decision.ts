// Reuse or build a host's conffs, and why (issue 12): what the conffs is made
// of, the newest one an earlier run kept, and the decision. One function for
// build_conffs and for the dry run, which says beforehand what the run then
// does (src/cli/dry-run.ts).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { decideArtifact, type ArtifactDecision } from '../cache/artifact-record.js';
import { imageId } from '../cache/image-cache.js';
import type { InputParts } from '../cache/inputs.js';
import { READS_OTHER_HOSTS } from '../cache/other-hosts.js';
import { conffsPartsFrom } from '../cache/parts.js';
import type { Context } from '../context.js';
import { CONFFS_DIR, conffsArchiveIn, keptConffsFoldersOf } from '../model/local-layout.js';
import { sha256File } from '../system/sha256-file.js';
import { vaultFile } from '../model/local-layout.js';
import type { PlayControllers } from '../ansible/play-controller.js';
import { listInventory, type ResolvedHosts } from '../ansible/resolve-hosts.js';
import { stageReads } from '../ansible/stage-reads.js';

/** A conffs host as the cache sees it: its name, the image its stages are replayed on, what the inventory says of it. */
export interface ConffsHost {
  host: string;
  source: string;
  /** Its vauban_mac, as iPXE spells it. */
  mac: string | undefined;
  /** sha256 of its variables and groups in the inventory. */
  vars: string;
  /** sha256 of the whole inventory. */
  inventory: string;
}

/** `host` of the resolved hosts (A7), built on `source`. */
export function conffsHost(resolved: Partial<Pick<ResolvedHosts, 'macs' | 'vars' | 'inventory'>>, host: string, source: string): ConffsHost {
  return { host, source, mac: resolved.macs?.get(host), vars: resolved.vars?.get(host) ?? '', inventory: resolved.inventory ?? '' };
}

/** What a host's conffs is made of: read before it is built, and again after (a first run makes its keys). */
export async function conffsParts(ctx: Context, input: ConffsHost, controllers: PlayControllers): Promise<InputParts> {
  const docker = await ctx.docker();
  const stages = [];
  let readsOtherHosts = false;
  for (const stage of ctx.options.stages) {
    const branch = stage.branch ?? ctx.options.branch;
    // On the run's branch, whose inventory gave the host's variables (vars): the tree without the inventory, so
    // that another host's change does not rebuild this one. On another branch (`feature@pb.yml`), whose
    // inventory the stage plays with, that branch's tree without its inventory and the host's variables and
    // groups there (issue 28), listed once per branch.
    const commit = await ctx.ansible.commit(branch);
    if (branch === ctx.options.branch) {
      stages.push({ playbook: stage.playbook, branch, commit: await ctx.ansible.inventorylessTree(commit) });
    } else {
      const reads = await stageReads(ctx.ansible, commit, input.host, await listInventory(ctx, input.source, branch, undefined, controllers));
      stages.push({ playbook: stage.playbook, branch, commit: [reads.tree, reads.vars, reads.inventory ?? ''].join(':') });
    }
    // ...unless a play can read other hosts (hostvars, groups...): then the whole inventory is an input.
    if (await ctx.ansible.matches(commit, READS_OTHER_HOSTS)) readsOtherHosts = true;
  }
  const entry = vaultFile(ctx.vaultDir, input.host);
  return conffsPartsFrom(ctx.settings.values, {
    source: await ctx.once(`image-id:${input.source}`, () => imageId(docker, input.source)),
    host: input.host,
    stages,
    // What runs the play: stage.sh, the shared controller and the host's agent.
    script: ctx.installDigest('conffsTools'),
    vars: input.vars,
    inventory: input.inventory,
    readsOtherHosts,
    keys: existsSync(entry) ? await sha256File(entry) : '',
    mac: input.mac ?? '',
  });
}

/** The newest conffs of this host kept by an earlier run in `outputDir` (<time>-overlayfs-<host>/conffs-<host>.tgz). */
export function lastConffsOf(outputDir: string, host: string): string | undefined {
  const folder = path.join(outputDir, CONFFS_DIR);
  if (!existsSync(folder)) return undefined;
  const newest = keptConffsFoldersOf(readdirSync(folder), host).at(-1);
  return newest === undefined ? undefined : path.join(outputDir, conffsArchiveIn(newest, host));
}

export interface ConffsDecision {
  decision: ArtifactDecision;
  /** The earlier conffs the decision is about (reused when the action is `reuse`). */
  last: string | undefined;
}

/** Reuse the host's conffs of an earlier run (inputs unchanged, file as recorded), or build it: and why. Reads only. */
export async function decideConffs(ctx: Context, input: ConffsHost, controllers: PlayControllers): Promise<ConffsDecision> {
  const parts = await conffsParts(ctx, input, controllers);
  const last = lastConffsOf(ctx.outputDir, input.host);
  if (last === undefined) return { decision: { action: 'build', reason: 'no earlier build recorded', record: undefined }, last };
  return { decision: await decideArtifact(last, parts, ctx.cachePolicy, undefined, ctx.options.dryRun), last };
}
