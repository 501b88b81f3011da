// What a stage reads of the Ansible repository (issue 28), as inputs of its
// image: the branch's tree without its inventory, and the variables and
// groups of the host it plays as, as Ansible resolves them; the whole
// inventory only when the tree can read other hosts. A commit that changes
// one host's variable then rebuilds that host's conffs and not the master.
//
// Why nothing a stage can read escapes these inputs:
// - every file of the branch is in the tree (by git object id), at every
//   depth, siblings of ANSIBLE_ROOT_DIR included: roles, collections,
//   playbooks, templates, files, vars files (vars_files, include_vars),
//   ansible.cfg, what a lookup of a repository file reads, plugins,
//   inventory plugins and scripts that are not named inventory*;
// - but three entries of ANSIBLE_ROOT_DIR (the folder the play runs in):
//   `inventory*` (the inventory file, or folder with its own group_vars/ and
//   host_vars/), `group_vars/` and `host_vars/`. What Ansible makes of them is
//   what `ansible-inventory --list --playbook-dir .` prints, run in that
//   folder with the branch's tree and the image's Ansible: the host's
//   variables (from the inventory, the inventory's group_vars/ and
//   host_vars/, those beside the playbooks) and its groups, with the tree of
//   groups. The host's part of it is in `vars`;
// - another host's variables, or a group's members, reach a play only through
//   the names READS_OTHER_HOSTS looks for (hostvars, groups, play_hosts...):
//   when the tree names one, the whole inventory is an input;
// - an inventory elsewhere (ansible.cfg's `inventory = ../x`) is not left
//   out: it is in the tree, and a change to it rebuilds the stage.
import { changedParts, type InputParts } from '../cache/inputs.js';
import { READS_OTHER_HOSTS } from '../cache/other-hosts.js';
import { groupsWithParents, inventoryChange } from './inventory-change.js';
import type { AnsibleRepository, Commit } from './repository.js';
import { readHostVarsDigests, readInventoryDigest } from './resolve-hosts.js';

export interface StageReads {
  /** The branch's tree without its inventory (AnsibleRepository.inventorylessTree). */
  tree: string;
  /** sha256 of the host's variables and groups. */
  vars: string;
  /** sha256 of the whole inventory, when the tree can read other hosts. */
  inventory: string | undefined;
}

/** What a stage of `commit`, played as `hostname`, reads; `inventoryJson` is the branch's `ansible-inventory --list`. */
export async function stageReads(repository: AnsibleRepository, commit: Commit, hostname: string, inventoryJson: string): Promise<StageReads> {
  const readsOtherHosts = await repository.matches(commit, READS_OTHER_HOSTS);
  return {
    tree: await repository.inventorylessTree(commit),
    vars: readHostVarsDigests(inventoryJson, [hostname]).get(hostname) ?? '',
    inventory: readsOtherHosts ? readInventoryDigest(inventoryJson) : undefined,
  };
}

/** A stage's last build, as its image's labels say: its commit and its inputs. */
export interface StageBuild {
  sha: string;
  parts: InputParts;
}

export type CarriedReads = { reads: StageReads; hosts: string[] } | { why: string };

/**
 * The reads of a stage taken from its last build, without listing the
 * inventory (about 1.5 s of a container and Ansible's start), when the branch
 * moved by a change of other hosts' inventory only: the commits differ in the
 * inventory sources alone, the change cannot reach `hostname`
 * (inventory-change.ts), and every other input is the build's (`partsOf`
 * with the build's variables gives the build's parts: the same parent image,
 * so the same Ansible; the same hostname, settings, playbook, tree). The
 * variables and groups Ansible would list are then the build's, and the
 * stage is reused. Otherwise, why not: the inventory is listed.
 */
export async function carriedReads(
  repository: AnsibleRepository,
  commit: Commit,
  hostname: string,
  build: StageBuild,
  /** partsOf: the stage's parts with these reads; buildListing: the listing kept of the build's commit, if any (the master's groups). */
  input: { partsOf: (reads: StageReads) => InputParts; hookPre: string | undefined; buildListing: string | undefined },
): Promise<CarriedReads> {
  if (build.sha === commit.sha) return { why: 'the branch did not move' };
  // A hook may export ANSIBLE_* settings that change what Ansible reads of the inventory.
  if ((input.hookPre ?? '') !== '') return { why: 'HOOK_PRE_ANSIBLE is set' };
  if (await repository.matches(commit, READS_OTHER_HOSTS)) return { why: 'the stages read other hosts' };
  const vars = build.parts.vars;
  if (typeof vars !== 'string' || build.parts.inventory !== undefined) return { why: 'the build read the whole inventory' };
  const reads: StageReads = { tree: await repository.inventorylessTree(commit), vars, inventory: undefined };
  const changed = changedParts(build.parts, input.partsOf(reads));
  if (changed.length > 0) return { why: `other inputs changed (${changed.join(', ')})` };
  // The label says which commit the build read: its tree must be the one the build recorded.
  const built = { branch: commit.branch, sha: build.sha, mirror: commit.mirror };
  const [before, after] = await Promise.all([repository.inventoryFiles(commit.mirror, build.sha), repository.inventoryFiles(commit.mirror, commit.sha)]);
  if (before === undefined || after === undefined) return { why: `commit ${build.sha.slice(0, 10)} is not in the mirror` };
  if ((await repository.inventorylessTree(built)) !== reads.tree) return { why: `commit ${build.sha.slice(0, 10)} differs from this one outside the inventory` };
  const listing = input.buildListing;
  let masterGroups: string[] | undefined;
  try {
    masterGroups = listing === undefined ? undefined : groupsWithParents(listing, hostname);
  } catch {
    masterGroups = undefined;
  }
  const change = inventoryChange({ master: hostname, masterGroups, before, after });
  return change.otherHostsOnly ? { reads, hosts: change.hosts } : { why: change.why };
}
