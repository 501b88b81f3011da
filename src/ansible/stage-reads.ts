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
import { READS_OTHER_HOSTS } from '../cache/other-hosts.js';
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
