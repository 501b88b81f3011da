// What would stop a run before any work, found without root or Docker: the
// settings the requested steps need, the base file (-f), the deploy key (-k)
// and vauban's own files in its install folder. `--dry-run` lists them all;
// a real run stops on the first, so that the two cannot disagree.
import path from 'node:path';
import { requiredSettingKeys, type LoadedSettings } from '../config/settings.js';
import type { VaubanOptions } from '../model/options.js';
import type { Plan, StepId } from '../model/plan.js';
import { isSshUrl } from '../system/git.js';
import { INSTALL_FILES } from '../install-dir.js';

export interface RunProblem {
  message: string;
  hint?: string;
  /** For a missing setting: its key. */
  setting?: string;
}

export interface ProblemFacts {
  cwd: string;
  /** Where vauban is installed (Dockerfile.base, stage.sh, dracut.conf, modules.d/): never the working directory. */
  installDir: string;
  /** True when the file exists (existsSync, or a fake in tests). */
  exists: (file: string) => boolean;
}

export function runProblems(options: VaubanOptions, settings: LoadedSettings, plan: Plan, facts: ProblemFacts): RunProblem[] {
  const values = settings.values;
  const needs = { ansible: options.rootfs || options.conffs, vault: options.rootfs || options.conffs, upload: options.upload };
  const missing = requiredSettingKeys(needs, settings.ci).filter((key) => values[key] === undefined);
  const problems: RunProblem[] = missing.map((key) => ({
    message: `setting ${key} is required by the requested steps but is not set`,
    hint: `set it in the environment or in .secrets.env as: export ${key}='...'`,
    setting: key,
  }));
  // A key of the settings uploads as CI does: to servers checked against UPLOAD_KNOWN_HOSTS only.
  if (options.upload && values.UPLOAD_CI_SSH_KEY !== undefined && values.UPLOAD_KNOWN_HOSTS === undefined && !missing.includes('UPLOAD_KNOWN_HOSTS')) {
    problems.push({
      message: 'setting UPLOAD_KNOWN_HOSTS is required with UPLOAD_CI_SSH_KEY: the PXE servers\' host keys are checked, never accepted blindly',
      hint: "set it to the servers' known_hosts lines (ssh-keyscan <server>) or to the path of a known_hosts file",
      setting: 'UPLOAD_KNOWN_HOSTS',
    });
  }
  const usesBase = plan.steps.some((step) => step.id === 'mount_iso');
  if (usesBase && options.iso !== undefined && !facts.exists(path.resolve(facts.cwd, options.iso))) {
    problems.push({ message: `the base file ${options.iso} (--iso) does not exist` });
  }
  const keyFile = path.resolve(facts.cwd, options.sshPrivKey);
  if (needs.ansible && values.ANSIBLE_REPO !== undefined && isSshUrl(values.ANSIBLE_REPO) && !facts.exists(keyFile)) {
    problems.push({
      message: `the deploy key ${keyFile} (-k, --ssh-priv-key) does not exist, and ANSIBLE_REPO is an ssh URL`,
      hint: 'give the read-only deploy key of the Ansible repository with -k <path>',
    });
  }
  problems.push(...installProblems(plan, facts));
  return problems;
}

/** The programs of this machine each step runs, and the Debian package that brings each (scripts/install-deps.sh). */
const STEP_TOOLS: Partial<Record<StepId, Array<[string, string]>>> = {
  mount_iso: [['losetup', 'mount'], ['mount', 'mount'], ['sfdisk', 'fdisk']],
  bootstrap_fs: [['chroot', 'coreutils']],
  chroot_dracut: [['chroot', 'coreutils']],
  build_rootfs: [['mksquashfs', 'squashfs-tools'], ['tar', 'tar']],
  upload: [['ssh', 'openssh-client']],
};

/**
 * The programs a requested step runs that this machine lacks, each with its
 * package (issue 31): listed by --dry-run, and a real run stops on them before
 * any work. `baseKind`: the base file's kind, when read (a qcow2 or compressed
 * base needs its tool); `hasTool`: true when the program is installed.
 */
export function toolProblems(options: VaubanOptions, plan: Plan, baseKind: string | undefined, hasTool: (name: string) => boolean): RunProblem[] {
  const needed = new Map<string, string>(plan.steps.flatMap((step) => STEP_TOOLS[step.id] ?? []));
  if (options.rootfs || options.conffs) needed.set('git', 'git');
  if (plan.steps.some((step) => step.id === 'mount_iso')) {
    if (options.debianRelease !== undefined) needed.set('debootstrap', 'debootstrap');
    if (baseKind?.includes('qcow2')) needed.set('qemu-img', 'qemu-utils');
    if (baseKind?.includes('xz')) needed.set('xz', 'xz-utils');
    if (baseKind?.includes('zstd')) needed.set('zstd', 'zstd');
  }
  return [...needed]
    .filter(([tool]) => !hasTool(tool))
    .map(([tool, debianPackage]) => ({ message: `${tool} is not installed on this machine, and the requested steps run it`, hint: `apt-get install ${debianPackage}` }));
}

/** The files of vauban's install folder each step reads. */
const STEP_FILES: Partial<Record<StepId, readonly string[]>> = {
  chroot_dracut: INSTALL_FILES.dracut,
  import_iso: INSTALL_FILES.baseDockerfile,
  apply_stages: INSTALL_FILES.stageScript,
  build_conffs: INSTALL_FILES.conffsTools,
};

/** A package installed without its files would fail mid-run: say so now, naming the folder. */
function installProblems(plan: Plan, facts: ProblemFacts): RunProblem[] {
  const needed = new Set(plan.steps.flatMap((step) => STEP_FILES[step.id] ?? []));
  return [...needed]
    .filter((file) => !facts.exists(path.join(facts.installDir, file)))
    .map((file) => ({
      message: `vauban's own ${file} is missing from its install folder ${path.resolve(facts.installDir)}`,
      hint: 'reinstall vauban (npm install -g <package>), or run it from a complete checkout',
    }));
}
