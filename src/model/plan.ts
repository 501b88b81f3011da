// What a run will do, decided from the options alone: the steps in pipeline
// order (A2), the images each produces (A4), the artifacts (A6) and what goes
// to the PXE servers (A9). Pure, so that `--dry-run` can print it without root
// or Docker; the steps read their images, their files and the release's
// members from it (issue 26), refined as the run learns facts.
import type { Settings } from '../../vauban-config.js';
import type { VaubanOptions } from './options.js';
import { baseImageNames, prefixOfSourceImage, stageImageName } from './image-name.js';
import { INITRAMFS, ROOTFS_TARBALL, SBOM_FILE, TIME_PLACEHOLDER, VMLINUZ, conffsArchive, keptArtifact, keptConffsArchive, type KernelArtifact } from './local-layout.js';
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

/** The master's files: the kernel, its initramfs, rootfs.tgz and its SBOM. */
export type MasterArtifactRole = 'vmlinuz' | 'initramfs' | 'rootfs' | 'sbom';

/** A master's file: `file` relative to the output folder (A6), and the master's own copy of it, kept while other masters use the folder. */
export interface MasterArtifact {
  role: MasterArtifactRole;
  file: string;
  kept: string;
}

/** A host's conffs archive, relative to the output folder (A7). */
export interface ConffsArchive {
  role: 'conffs';
  file: string;
  host: string;
}

export type PlannedArtifact = MasterArtifact | ConffsArchive;

/**
 * What the run puts on each PXE server, whatever the server: the members of
 * the release (or of the share) and the kernel files' A9 paths. The upload
 * step sends exactly these; the plan's per-server list (uploads) says them.
 */
export interface PlannedDelivery {
  /** The release's members: the file's name on the server and the artifact it is. */
  members: { member: string; artifact: PlannedArtifact }[];
  /** Whether the kernel built is the rootfs's (or no rootfs is built): then it is a member of the release. */
  kernelInRelease: boolean;
  /** A kernel that is not the rootfs's: to its A9 path only (linux/<kind>-<kver>), not a member. */
  linuxOnly: { artifact: MasterArtifact; path: string }[];
  /** The release's kernel members, also put at their A9 path once live. */
  linuxCopies: { member: KernelArtifact; path: string }[];
  /** --release: the members are a share of this staged release, not a live release (issue 29). */
  share?: { release: string; label: string };
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
  artifacts: PlannedArtifact[];
  /** Undefined when the run uploads nothing. */
  delivery: PlannedDelivery | undefined;
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

  const artifacts: PlannedArtifact[] = [];
  const ofMaster = (role: MasterArtifactRole, file: string): MasterArtifact => masterArtifact(options.name, role, file);
  if (options.initramfs) artifacts.push(ofMaster('vmlinuz', VMLINUZ), ofMaster('initramfs', INITRAMFS));
  if (options.rootfs) artifacts.push(ofMaster('rootfs', ROOTFS_TARBALL), ofMaster('sbom', SBOM_FILE));
  for (const host of hosts) artifacts.push({ role: 'conffs', file: conffsArchive(host), host });

  const share = options.release === undefined ? undefined : { release: options.release, label: shareLabel(options.shard, options) };
  const delivery = options.upload ? planDelivery(artifacts, facts, share) : undefined;
  const uploads = delivery === undefined ? [] : uploadsEverywhere(facts, options.name, delivery, hosts);

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
    delivery,
    uploads,
    registry: facts.registry,
  };
}

function masterArtifact(name: string, role: MasterArtifactRole, file: string): MasterArtifact {
  return { role, file, kept: keptArtifact(name, file) };
}

/** The plan's file of `role`; throws when the plan has none: a step asked for what the plan does not make. */
export function plannedArtifact(plan: Plan, role: MasterArtifactRole): MasterArtifact {
  const artifact = plan.artifacts.find((one): one is MasterArtifact => one.role === role);
  if (artifact === undefined) throw new Error(`the plan has no ${role} artifact`);
  return artifact;
}

/** The plan's conffs archive of `host` (a host the plan has learned); throws when the plan has none. */
export function plannedConffsArchive(plan: Plan, host: string): ConffsArchive {
  const artifact = plan.artifacts.find((one): one is ConffsArchive => one.role === 'conffs' && one.host === host);
  if (artifact === undefined) throw new Error(`the plan has no conffs archive of ${host}`);
  return artifact;
}

/**
 * What goes to every server (A9, issue 30): the kernel files are members of
 * the release when they are the rootfs's kernel (or no rootfs is built, or
 * its kernel is not known: the release then keeps them); another kernel goes
 * to linux/ only. The rootfs, its SBOM and each host's conffs are members.
 */
function planDelivery(artifacts: readonly PlannedArtifact[], facts: PlanFacts, share: PlannedDelivery['share']): PlannedDelivery {
  const kernel = artifacts.filter((artifact): artifact is MasterArtifact & { role: KernelArtifactRole } => artifact.role === 'vmlinuz' || artifact.role === 'initramfs');
  const rootfs = artifacts.some((artifact) => artifact.role === 'rootfs');
  const kernelVersion = facts.kernelVersion ?? KVER_PLACEHOLDER;
  const kernelInRelease = kernel.length > 0 && (!rootfs || facts.rootfsKernelVersion === undefined || facts.rootfsKernelVersion === kernelVersion);
  const members: PlannedDelivery['members'] = [];
  for (const artifact of artifacts) {
    if (artifact.role === 'rootfs') members.push({ member: ROOTFS, artifact });
    else if (artifact.role === 'sbom') members.push({ member: SBOM, artifact });
    else if (artifact.role === 'conffs') members.push({ member: conffsMember(artifact.host), artifact });
    else if (kernelInRelease) members.push({ member: KERNEL_FILE_OF[artifact.role], artifact });
  }
  const kernelPaths = kernel.map((artifact) => ({ artifact, member: KERNEL_FILE_OF[artifact.role], path: kernelFile(KERNEL_FILE_OF[artifact.role], kernelVersion) }));
  return {
    members,
    kernelInRelease,
    linuxOnly: kernelInRelease ? [] : kernelPaths.map(({ artifact, path }) => ({ artifact, path })),
    linuxCopies: kernelInRelease ? kernelPaths.map(({ member, path }) => ({ member, path })) : [],
    ...(share === undefined ? {} : { share }),
  };
}

type KernelArtifactRole = 'vmlinuz' | 'initramfs';
const KERNEL_FILE_OF: Record<KernelArtifactRole, KernelArtifact> = { vmlinuz: VMLINUZ, initramfs: INITRAMFS };

/** The delivery as each server gets it: one list per server of UPLOAD_HOSTS_LIST (placeholders until the settings are read). */
function uploadsEverywhere(facts: PlanFacts, name: string, delivery: PlannedDelivery, hosts: readonly string[]): PlannedUpload[] {
  const dir = facts.uploadDir ?? '<UPLOAD_DIR>';
  const servers = facts.uploadHosts?.length ? facts.uploadHosts : ['<UPLOAD_HOSTS_LIST>'];
  return servers.flatMap((server) => plannedUploads({ server, dir, name, delivery, hosts, rootfsKernelVersion: facts.rootfsKernelVersion ?? KVER_PLACEHOLDER }));
}

/** vauban-version-control (A14): the rootfs of a registry image, uploaded as the master; nothing else built. */
function planRedeploy(options: VaubanOptions, remote: string, facts: PlanFacts): Plan {
  const artifacts = [masterArtifact(options.name, 'rootfs', ROOTFS_TARBALL), masterArtifact(options.name, 'sbom', SBOM_FILE)];
  const delivery = options.upload ? planDelivery(artifacts, facts, undefined) : undefined;
  return {
    steps: [
      { id: 'build_rootfs', description: `rootfs of ${remote}` },
      ...(options.upload ? [{ id: 'upload' as const, description: `${ROOTFS_TARBALL} to ${options.name}/` }] : []),
    ],
    prefix: options.name,
    source: remote,
    images: [],
    conffs: undefined,
    artifacts,
    delivery,
    uploads: delivery === undefined ? [] : uploadsEverywhere(facts, options.name, delivery, []),
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
  delivery: PlannedDelivery;
  hosts: readonly string[];
  rootfsKernelVersion: string;
}

/**
 * What an upload writes on one server (A9, B14, B15, B19): one release of the
 * master (its kernel files, rootfs, conffs) made live, then the kernel files at
 * their A9 path; a kernel that is not the rootfs's goes to linux/ only.
 */
function plannedUploads(input: UploadsInput): PlannedUpload[] {
  const { server, dir, name, delivery } = input;
  const uploads: PlannedUpload[] = [];
  const file = (remote: string, local: string) => uploads.push({ server, local, remote: `${dir}/${remote}` });
  const link = (remote: string, target: string) => uploads.push({ server, local: undefined, remote: `${dir}/${remote}`, target });
  const generated = (remote: string, what: string) => uploads.push({ server, local: undefined, remote: `${dir}/${remote}`, generated: what });
  for (const { artifact, path } of delivery.linuxOnly) file(path, artifact.file);
  if (delivery.members.length === 0) return uploads;
  if (delivery.share !== undefined) {
    // A share: its files and its manifest in the staged release's folder; nothing live until `vauban promote`.
    const { release, label } = delivery.share;
    for (const { member, artifact } of delivery.members) file(`${sharesDir(name, release)}/${label}/${member}`, artifact.file);
    generated(`${sharesDir(name, release)}/${shareManifest(label)}`, `the share's manifest (its files' sha256, its hosts, the image it was built on), written last; \`vauban promote ${name} ${release}\` makes the shares one live release`);
    return uploads;
  }
  const release = releaseDir(name, RELEASE_PLACEHOLDER);
  const rootfs = delivery.members.some(({ artifact }) => artifact.role === 'rootfs');
  const members: string[] = [];
  // The master's files, the links to the live kernel when the release does not carry its own, then the hosts'.
  for (const { member, artifact } of delivery.members.filter(({ artifact }) => artifact.role !== 'conffs')) {
    file(`${release}/${member}`, artifact.file);
    members.push(member);
  }
  if (rootfs && !delivery.kernelInRelease) {
    for (const kind of KERNEL_LINKS) link(`${release}/${kind}`, kernelLinkTarget(kind, input.rootfsKernelVersion));
    members.push(...KERNEL_LINKS);
  }
  for (const { member, artifact } of delivery.members.filter(({ artifact }) => artifact.role === 'conffs')) {
    file(`${release}/${member}`, artifact.file);
    members.push(member);
  }
  const others = rootfs ? '; what this run does not build is hard-linked from the live release' : '; the rootfs and kernel links are those of the live release';
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
  for (const { member, path } of delivery.linuxCopies) generated(path, `the release's ${member}, hard-linked once it is live`);
  return uploads;
}
