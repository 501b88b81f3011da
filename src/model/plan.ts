// What a run will do, decided from the options alone: the steps in pipeline
// order (A2), the images each produces (A4), the artifacts (A6) and the upload
// targets (A9). Pure, so that `--dry-run` can print it without root or Docker
// and the pipeline can follow it step by step.
import type { Settings } from '../../vauban-config.js';
import type { VaubanOptions } from './options.js';
import { baseImageNames, prefixOfSourceImage, stageImageName } from './image-name.js';
import { INITRAMFS, KERNEL_ARTIFACTS, ROOTFS_TARBALL, SBOM_FILE, TIME_PLACEHOLDER, VMLINUZ, conffsArchive, keptConffsArchive } from './local-layout.js';
import {
  KERNEL_LINKS,
  RELEASE_PLACEHOLDER,
  ROOTFS,
  SBOM,
  SUMS,
  bootEntryLink,
  byMacEntry,
  conffsMember,
  currentLink,
  currentTarget,
  dropInLink,
  entryMember,
  kernelFile,
  kernelLinkTarget,
  releaseDir,
  shareLabel,
  shareManifest,
  sharesDir,
} from '../pxe/layout.js';
import type { Stage } from './stage.js';

export const STEP_IDS = [
  'mount_iso',
  'bootstrap_fs',
  'chroot_dracut',
  'import_iso',
  'apply_stages',
  'build_rootfs',
  'build_conffs',
  'upload',
] as const;
export type StepId = (typeof STEP_IDS)[number];

/** Stands for the OS name read from the base (`debian-12.8`) until the base is mounted. */
export const OS_NAME_PLACEHOLDER = '<os-name>';
/** Stands for each conffs host until Ansible has resolved the pattern. */
export const HOST_PLACEHOLDER = '<host>';
/** Stands for the kernel version until it is read from the kernel image. */
export const KVER_PLACEHOLDER = '<kver>';

export interface PlannedStep {
  id: StepId;
  description: string;
}

/** What an image is to the run: the base as imported, the base with Dockerfile.base, a stage's commit, the master's tag. */
export type ImageRole = 'raw-base' | 'base' | 'stage' | 'master';

export interface PlannedImage {
  name: string;
  from: string;
  step: 'import_iso' | 'apply_stages' | 'build_conffs';
  role: ImageRole;
  playbook?: string;
  branch?: string;
  /** The hostname the stage is applied as (the master's name, or a conffs host). */
  hostname?: string;
}

export interface PlannedUpload {
  server: string;
  /** Local file (relative to the output folder), or undefined for a symlink or a file made on the server. */
  local: string | undefined;
  remote: string;
  /** For a symlink: where it points, relative to its folder. */
  target?: string;
  /** For a file generated at upload time: what it is. */
  generated?: string;
}

export interface PlannedConffs {
  pattern: string;
  /** Undefined until Ansible has resolved the pattern; with --shard, the shard's hosts only. */
  hosts: string[] | undefined;
  /** --shard I/N: this run's share of the hosts the pattern selects (issue 29), and how many it selects. */
  shard?: { index: number; total: number; selected: number | undefined };
  /** Where each host's archive (an artifact of the plan) is kept once the run has ended (A12): `<time>` is the run's stamp. */
  keptAs: string;
}

export interface Plan {
  steps: PlannedStep[];
  /** `<prefix>` of every image name; OS_NAME_PLACEHOLDER until the base is read. */
  prefix: string;
  /** The image the stages are applied on. */
  source: string | undefined;
  images: PlannedImage[];
  conffs: PlannedConffs | undefined;
  artifacts: string[];
  uploads: PlannedUpload[];
  registry: string | undefined;
}

export interface PlanFacts {
  /** The OS name once known (from the mounted base). */
  osName?: string;
  /** What the --iso file is, once read (e.g. "live ISO, live/filesystem.squashfs at byte 1599488"). */
  baseKind?: string;
  /** How many hosts the pattern selects, every shard's (with --shard: `hosts` is this shard's). */
  hostsSelected?: number;
  /** The conffs hosts once resolved by Ansible. */
  hosts?: string[];
  /** The version of the kernel chroot_dracut made (or reused): the kernel files' names on the servers. */
  kernelVersion?: string;
  /** The version of the master's kernel, once its rootfs is made: the release's kernel links point to its files. */
  rootfsKernelVersion?: string;
  uploadHosts?: string[];
  uploadDir?: string;
  registry?: string;
  /** How build_rootfs reads the image (issue 29): the engine's layer folders in place, or through the Engine API. */
  engineFiles?: 'local' | 'api';
}

/** What the settings tell the plan: the PXE servers and their folder, the registry. */
export function settingsFacts(values: Settings): PlanFacts {
  return { uploadHosts: values.UPLOAD_HOSTS_LIST?.trim().split(/\s+/), uploadDir: values.UPLOAD_DIR, registry: values.REGISTRY_HOSTNAME };
}

export function planRun(options: VaubanOptions, facts: PlanFacts = {}): Plan {
  if (options.redeploy !== undefined) return planRedeploy(options, options.redeploy, facts);
  const fromBase = options.rootfs && options.sourceImage === undefined;
  const needsBase = fromBase || options.initramfs;
  const prefix =
    options.sourceImage !== undefined ? prefixOfSourceImage(options.sourceImage) : (facts.osName ?? OS_NAME_PLACEHOLDER);
  const baseImages = baseImageNames(prefix);
  const source = options.sourceImage ?? (fromBase ? baseImages.base : undefined);
  const baseName = options.iso ?? `debootstrap ${options.debianRelease ?? ''}`.trim();

  const steps: PlannedStep[] = [];
  const add = (id: StepId, description: string): void => {
    steps.push({ id, description });
  };
  if (needsBase) {
    add(
      'mount_iso',
      options.debianRelease !== undefined
        ? `debootstrap Debian ${options.debianRelease} from the mirror into a work folder`
        : `mount ${options.iso}${facts.baseKind === undefined ? '' : ` (${facts.baseKind})`} read-only under a writable overlay`,
    );
    add('bootstrap_fs', 'prepare the base in a chroot: DNS, empty fstab, no grub or initramfs-tools, newest kernel');
  }
  if (options.initramfs) add('chroot_dracut', 'build vmlinuz and initramfs.img with dracut in a chroot of the base');
  if (fromBase) add('import_iso', `import the base into Docker, then Dockerfile.base`);
  if (options.rootfs) add('apply_stages', `apply ${options.stages.length} stage(s) as ${options.name}`);
  const reading = facts.engineFiles === 'api' ? "through the Engine API (docker save: the engine's files are not on this machine)" : facts.engineFiles === 'local' ? "its layer folders read in place (the engine's files are on this machine)" : "its layer folders read in place when the engine's files are on this machine, else through the Engine API";
  if (options.rootfs) add('build_rootfs', `export the image (${reading}), clean it, add its sshd keys, make rootfs.img and rootfs.tgz`);
  if (options.conffs) add('build_conffs', `replay the stages as each host of '${options.ansibleHost ?? ''}'${options.shard === undefined ? '' : ` in shard ${options.shard.index}/${options.shard.total}`} and pack its conffs`);
  if (options.upload) {
    const what = options.release !== undefined ? `: ${`share ${shareLabel(options.shard, options)}`} of the staged release ${options.release} of ${options.name}, not live until \`vauban promote ${options.name} ${options.release}\`` : options.rootfs || options.conffs ? `: a release of ${options.name}, made live by one switch of ${options.name}/current` : '';
    add('upload', `upload to ${facts.uploadHosts?.join(', ') || 'the PXE servers (UPLOAD_HOSTS_LIST)'}${what}`);
  }

  const images: PlannedImage[] = [];
  if (fromBase) {
    images.push({ name: baseImages.raw, from: baseName, step: 'import_iso', role: 'raw-base' });
    images.push({ name: baseImages.base, from: baseImages.raw, step: 'import_iso', role: 'base' });
  }
  if (options.rootfs && source !== undefined) {
    images.push(...stageImages({ source, prefix, stages: options.stages, branch: options.branch, hostname: options.name, finalName: options.name }));
  }
  // A conffs host makes no image: its stages run in one container of the source, read, then removed (B11).
  const hosts = options.conffs ? (facts.hosts ?? [HOST_PLACEHOLDER]) : [];

  const artifacts: string[] = [];
  if (options.initramfs) artifacts.push(...KERNEL_ARTIFACTS);
  if (options.rootfs) artifacts.push(ROOTFS_TARBALL, SBOM_FILE);
  for (const host of hosts) artifacts.push(conffsArchive(host));

  const uploads: PlannedUpload[] = [];
  if (options.upload) {
    const dir = facts.uploadDir ?? '<UPLOAD_DIR>';
    for (const server of facts.uploadHosts?.length ? facts.uploadHosts : ['<UPLOAD_HOSTS_LIST>']) {
      uploads.push(
        ...plannedUploads({
          server,
          dir,
          name: options.name,
          kernel: options.initramfs,
          rootfs: options.rootfs,
          hosts,
          kernelVersion: facts.kernelVersion ?? KVER_PLACEHOLDER,
          rootfsKernelVersion: facts.rootfsKernelVersion ?? KVER_PLACEHOLDER,
          ...(options.release === undefined ? {} : { share: { release: options.release, label: shareLabel(options.shard, options) } }),
        }),
      );
    }
  }

  return {
    steps,
    prefix,
    source,
    images,
    conffs: options.conffs
      ? {
          pattern: options.ansibleHost ?? '',
          hosts: facts.hosts,
          keptAs: keptConffsArchive(TIME_PLACEHOLDER, HOST_PLACEHOLDER),
          ...(options.shard === undefined ? {} : { shard: { ...options.shard, selected: facts.hostsSelected } }),
        }
      : undefined,
    artifacts,
    uploads,
    registry: facts.registry,
  };
}

/** vauban-version-control (A14): the rootfs of a registry image, uploaded as the master; nothing else built. */
function planRedeploy(options: VaubanOptions, remote: string, facts: PlanFacts): Plan {
  const uploads: PlannedUpload[] = [];
  if (options.upload) {
    for (const server of facts.uploadHosts?.length ? facts.uploadHosts : ['<UPLOAD_HOSTS_LIST>']) {
      uploads.push(...plannedUploads({ server, dir: facts.uploadDir ?? '<UPLOAD_DIR>', name: options.name, kernel: false, rootfs: true, hosts: [], kernelVersion: KVER_PLACEHOLDER, rootfsKernelVersion: facts.rootfsKernelVersion ?? KVER_PLACEHOLDER }));
    }
  }
  return {
    steps: [
      { id: 'build_rootfs', description: `rootfs of ${remote}` },
      ...(options.upload ? [{ id: 'upload' as const, description: `${ROOTFS_TARBALL} to ${options.name}/` }] : []),
    ],
    prefix: options.name,
    source: remote,
    images: [],
    conffs: undefined,
    artifacts: [ROOTFS_TARBALL, SBOM_FILE],
    uploads,
    registry: facts.registry,
  };
}

interface StageImagesInput {
  source: string;
  prefix: string;
  stages: readonly Stage[];
  branch: string;
  hostname: string;
  /** Tag of the last stage's image: the master's name. */
  finalName: string;
}

/** The chain of images one application of the stages makes (A4). */
export function stageImages(input: StageImagesInput): PlannedImage[] {
  const images: PlannedImage[] = [];
  let from = input.source;
  for (const stage of input.stages) {
    const name = stageImageName(input.prefix, stage.playbook);
    images.push({ name, from, step: 'apply_stages', role: 'stage', playbook: stage.playbook, branch: stage.branch ?? input.branch, hostname: input.hostname });
    from = name;
  }
  // The last image is also tagged with the master's name.
  images.push({ name: input.finalName, from, step: 'apply_stages', role: 'master' });
  return images;
}

/** The plan's image of `role` (the first one); throws when the plan has none: a step asked for what the plan does not make. */
export function plannedImage(plan: Plan, role: ImageRole): PlannedImage {
  const image = plan.images.find((one) => one.role === role);
  if (image === undefined) throw new Error(`the plan has no ${role} image`);
  return image;
}

/** A stage's image: what it applies, on which branch, as which host. */
export type PlannedStageImage = PlannedImage & { playbook: string; branch: string; hostname: string };

/** The plan's stage images, in the order they are built: one per stage of the master. */
export function plannedStageImages(plan: Plan): PlannedStageImage[] {
  return plan.images.filter((image): image is PlannedStageImage => image.role === 'stage');
}

interface UploadsInput {
  server: string;
  dir: string;
  name: string;
  kernel: boolean;
  rootfs: boolean;
  hosts: readonly string[];
  kernelVersion: string;
  rootfsKernelVersion: string;
  /** --release: the run's files are a share of this staged release, not a live one (issue 29). */
  share?: { release: string; label: string };
}

/**
 * What an upload writes on one server (A9, B14, B15, B19): one release of the
 * master (its kernel files, rootfs, conffs) made live, then the kernel files at
 * their A9 path; a kernel that is not the rootfs's goes to linux/ only.
 */
function plannedUploads(input: UploadsInput): PlannedUpload[] {
  const { server, dir, name } = input;
  const uploads: PlannedUpload[] = [];
  const file = (remote: string, local: string) => uploads.push({ server, local, remote: `${dir}/${remote}` });
  const link = (remote: string, target: string) => uploads.push({ server, local: undefined, remote: `${dir}/${remote}`, target });
  const generated = (remote: string, what: string) => uploads.push({ server, local: undefined, remote: `${dir}/${remote}`, generated: what });
  const kernelInRelease = input.kernel && (!input.rootfs || input.kernelVersion === input.rootfsKernelVersion);
  if (input.kernel && !kernelInRelease) {
    file(kernelFile(VMLINUZ, input.kernelVersion), VMLINUZ);
    file(kernelFile(INITRAMFS, input.kernelVersion), INITRAMFS);
  }
  if (!kernelInRelease && !input.rootfs && input.hosts.length === 0) return uploads;
  if (input.share !== undefined) {
    // A share: its files and its manifest in the staged release's folder; nothing live until `vauban promote`.
    const folder = `${sharesDir(name, input.share.release)}/${input.share.label}`;
    if (kernelInRelease) file(`${folder}/${VMLINUZ}`, VMLINUZ);
    if (kernelInRelease) file(`${folder}/${INITRAMFS}`, INITRAMFS);
    if (input.rootfs) file(`${folder}/${ROOTFS}`, ROOTFS_TARBALL);
    if (input.rootfs) file(`${folder}/${SBOM}`, SBOM_FILE);
    for (const host of input.hosts) file(`${folder}/${conffsMember(host)}`, conffsArchive(host));
    generated(`${sharesDir(name, input.share.release)}/${shareManifest(input.share.label)}`, `the share's manifest (its files' sha256, its hosts, the image it was built on), written last; \`vauban promote ${name} ${input.share.release}\` makes the shares one live release`);
    return uploads;
  }
  const release = releaseDir(name, RELEASE_PLACEHOLDER);
  const members: string[] = [];
  if (kernelInRelease) {
    file(`${release}/${VMLINUZ}`, VMLINUZ);
    file(`${release}/${INITRAMFS}`, INITRAMFS);
    members.push(VMLINUZ, INITRAMFS);
  }
  if (input.rootfs) {
    file(`${release}/${ROOTFS}`, ROOTFS_TARBALL);
    file(`${release}/${SBOM}`, SBOM_FILE);
    members.push(ROOTFS, SBOM);
    if (!kernelInRelease) {
      for (const kind of KERNEL_LINKS) link(`${release}/${kind}`, kernelLinkTarget(kind, input.rootfsKernelVersion));
      members.push(...KERNEL_LINKS);
    }
  }
  for (const host of input.hosts) {
    file(`${release}/${conffsMember(host)}`, conffsArchive(host));
    members.push(conffsMember(host));
  }
  const others = input.rootfs ? '; what this run does not build is hard-linked from the live release' : '; the rootfs and kernel links are those of the live release';
  for (const host of input.hosts) generated(`${release}/${entryMember(host)}`, `iPXE entry of ${host}: boot line with the sha256 of rootfs.tgz and of its conffs`);
  if (input.hosts.length === 0) generated(`${release}/${entryMember(HOST_PLACEHOLDER)}`, 'iPXE entry of each host of the live release, for the new rootfs');
  generated(`${release}/${SUMS}`, `sha256 of every file of the release${others}`);
  link(currentLink(name), currentTarget(RELEASE_PLACEHOLDER));
  for (const member of members) {
    const dropIn = dropInLink(name, member);
    link(dropIn.path, dropIn.target);
  }
  for (const host of input.hosts) {
    const entry = bootEntryLink(name, host);
    link(entry.path, entry.target);
    generated(byMacEntry('<mac>'), `when the inventory gives ${host} a vauban_mac: chains to ../${entryMember(host)}`);
  }
  if (kernelInRelease) {
    for (const kind of KERNEL_LINKS) generated(kernelFile(kind, input.kernelVersion), `the release's ${kind}, hard-linked once it is live`);
  }
  return uploads;
}
