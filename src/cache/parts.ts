// Which inputs make each thing vauban builds (issue 12). The one place that
// decides it: what is not here does not invalidate a cached build, so every
// setting that changes a result must be listed. CACHE_RECIPE (inputs.ts)
// stands for vauban's own code.
import type { Settings } from '../../vauban-config.js';
import { hiddenPart, type InputParts } from './inputs.js';

/**
 * <prefix>/raw-iso: the base as mount_iso and bootstrap_fs make it. For a file,
 * its identity (real path, size, modification time: a file replaced or
 * rewritten gets a new one; hashing gigabytes on every run would cost what the
 * cache saves); for debootstrap, the release and the mirror. bootstrap_fs
 * installs the newest kernel of the mirror: the maximum age is what brings it in.
 */
export function rawBaseParts(base: { file: string; size: number; mtimeMs: number } | { release: string; mirror: string }): InputParts {
  if ('release' in base) return { kind: 'raw-iso', debootstrap: base.release, mirror: base.mirror };
  return { kind: 'raw-iso', file: base.file, size: String(base.size), mtime: String(Math.trunc(base.mtimeMs)) };
}

/**
 * <prefix>/iso: raw-iso + Dockerfile.base and its build args (ISO is the
 * origin written in /imginfo; ANSIBLE_PACKAGES is the Ansible version of every
 * image below). Not the branch's commit it copies to /root/ansible: nothing
 * made from this image keeps that copy (each stage and the host resolution put
 * their branch over it and `git clean -ffdx` it, the rootfs removes
 * root/ansible, a conffs leaves it out), so a commit on the default branch
 * does not rebuild the base of every master.
 */
export function baseImageParts(input: { parent: string; dockerfile: string; origin: string; ansiblePackages: string }): InputParts {
  return {
    kind: 'iso',
    parent: input.parent,
    dockerfile: input.dockerfile,
    origin: input.origin,
    ANSIBLE_PACKAGES: input.ansiblePackages,
  };
}

export interface StagePartsInput {
  /** The id of the image the stage is applied on. */
  parent: string;
  playbook: string;
  branch: string;
  /**
   * The branch's tree without its inventory (AnsibleRepository.inventorylessTree):
   * every file the play can read (playbooks, roles, collections, templates,
   * vars files, ansible.cfg, what a lookup reads) but the inventory sources
   * and the group_vars/ and host_vars/ that `vars` covers.
   */
  tree: string;
  /** sha256 of the variables and groups of `hostname` as Ansible resolves them (the inventory, group_vars/, host_vars/). */
  vars: string;
  /** sha256 of the whole inventory: given when the tree names a way to read other hosts (READS_OTHER_HOSTS). */
  inventory: string | undefined;
  hostname: string;
  /** sha256 of stage.sh: what runs in the container. */
  script: string;
  ansibleRootDir: string | undefined;
  extraArgs: string | undefined;
  hookPre: string | undefined;
  hookPost: string | undefined;
}

/**
 * One stage's image: its parent, the playbook, its branch, what the play can
 * read of the branch (issue 28: its tree without the inventory, and the
 * variables and groups of the hostname it plays as, so that a commit that
 * changes another host's variables reuses the master; the whole inventory
 * when the tree can read other hosts), the hostname, stage.sh, and the
 * settings that reach the play (ANSIBLE_ROOT_DIR, ANSIBLE_EXTRA_ARGS, the
 * hooks: the last three as digests, since they may carry secrets and the
 * parts are a label). The Ansible version is in the parent (ANSIBLE_PACKAGES
 * made the base).
 */
export function stageParts(input: StagePartsInput): InputParts {
  return {
    kind: 'stage',
    parent: input.parent,
    playbook: input.playbook,
    branch: input.branch,
    tree: input.tree,
    vars: input.vars,
    ...(input.inventory === undefined ? {} : { inventory: input.inventory }),
    hostname: input.hostname,
    script: input.script,
    ANSIBLE_ROOT_DIR: input.ansibleRootDir ?? '',
    ANSIBLE_EXTRA_ARGS: hiddenPart(input.extraArgs),
    HOOK_PRE_ANSIBLE: hiddenPart(input.hookPre),
    HOOK_POST_ANSIBLE: hiddenPart(input.hookPost),
  };
}

/**
 * rootfs.tgz: the master's name and image id, the compression, and the sshd
 * keys of the master put in it (the vault entry's content digest: a new key
 * makes a new rootfs; the name, because two masters of one image get each its own keys).
 */
export function rootfsParts(input: { name: string; image: string; compression: string; keys: string }): InputParts {
  return { kind: 'rootfs', name: input.name, image: input.image, compression: input.compression, keys: input.keys };
}

/** A stage's parts with its settings read from the run's settings: the one way the steps and the dry run compute them. */
export function stagePartsFrom(
  settings: Settings,
  input: Pick<StagePartsInput, 'parent' | 'playbook' | 'branch' | 'tree' | 'vars' | 'inventory' | 'hostname' | 'script'>,
): InputParts {
  return stageParts({
    ...input,
    ansibleRootDir: settings.ANSIBLE_ROOT_DIR,
    extraArgs: settings.ANSIBLE_EXTRA_ARGS,
    hookPre: settings.HOOK_PRE_ANSIBLE,
    hookPost: settings.HOOK_POST_ANSIBLE,
  });
}

export interface ConffsPartsInput {
  /** The id of the image the host's stages are replayed on. */
  source: string;
  host: string;
  /**
   * Each stage replayed: playbook, branch, and on the run's branch (whose inventory gave `vars`) the digest of
   * its tree without the inventory (AnsibleRepository.inventorylessTree), on any other branch its commit.
   */
  stages: ReadonlyArray<{ playbook: string; branch: string; commit: string }>;
  script: string;
  /** sha256 of the host's variables and groups in the inventory. */
  vars: string;
  /** sha256 of the whole inventory (every host's variables, every group): taken when `readsOtherHosts`. */
  inventory: string;
  /** A stage's tree names what a play reads other hosts through (READS_OTHER_HOSTS). */
  readsOtherHosts: boolean;
  /** sha256 of the host's vault entry (its sshd keys), '' before it exists. */
  keys: string;
  mac: string;
}

/**
 * A host's conffs: its source image, the stages replayed (each with its
 * branch's commit), the host's name and inventory variables (a dynamic
 * inventory changes them without a commit), its sshd keys, its MAC, and the
 * settings that reach the play (as a stage's). When the stages can read other
 * hosts (readsOtherHosts), the whole inventory too: another host's variable
 * or a group's members changing then rebuilds this host, whose templates may
 * print them. Otherwise the part is left out, so that such a change does not.
 */
export function conffsPartsFrom(settings: Settings, input: ConffsPartsInput): InputParts {
  return {
    kind: 'conffs',
    source: input.source,
    host: input.host,
    stages: input.stages.map((stage) => `${stage.branch}@${stage.playbook}@${stage.commit}`).join(' '),
    script: input.script,
    vars: input.vars,
    ...(input.readsOtherHosts ? { inventory: input.inventory } : {}),
    keys: input.keys,
    mac: input.mac,
    ANSIBLE_ROOT_DIR: settings.ANSIBLE_ROOT_DIR ?? '',
    ANSIBLE_EXTRA_ARGS: hiddenPart(settings.ANSIBLE_EXTRA_ARGS),
    HOOK_PRE_ANSIBLE: hiddenPart(settings.HOOK_PRE_ANSIBLE),
    HOOK_POST_ANSIBLE: hiddenPart(settings.HOOK_POST_ANSIBLE),
  };
}

/**
 * vmlinuz and initramfs.img: the base they come from (the raw-iso's parts: the
 * kernel is the newest of the mirror when bootstrap_fs ran, which the maximum
 * age renews), dracut.conf and our dracut modules.
 */
export function kernelParts(input: { base: string; dracutConf: string; modules: string; releaseKey?: string | undefined }): InputParts {
  // The project's key baked into the initramfs (B19), by fingerprint; none: the parts of a project without one.
  return { kind: 'kernel', base: input.base, dracutConf: input.dracutConf, modules: input.modules, ...(input.releaseKey === undefined ? {} : { releaseKey: input.releaseKey }) };
}
