// Where a run's products live on the build host (A6, A7, A11, A12), relative
// to the output folder (the working directory, as with vauban.sh), and what a
// host's conffs log is called. Pure: the plan, the steps, the --json result,
// `vauban boot` and the pruning of old conffs folders name these paths
// through here and nowhere else (a PXE server's paths: src/pxe/layout.ts;
// image names: src/image-name.ts). The files keep their names on the servers.
//
//   vmlinuz, initramfs.img                          chroot_dracut
//   rootfs.tgz (a tar of rootfs.img), sbom.cdx.json  build_rootfs
//   vault/<name>.tar.gpg                            sshd keys (src/vault/vault.ts)
//   overlayfs/overlayfs-<host>/conffs-<host>.tgz    this run's conffs of a host,
//   overlayfs/overlayfs-<host>/by-mac/<mac>.ipxe      and its boot entry by MAC
//   overlayfs/<time>-overlayfs-<host>/              renamed so at the end of the run, kept (CONFFS_KEEP)
//   <VAUBAN_LOG_DIR>/<prefix>-<host>-<time>          a host's conffs log
//   vauban-boot-<master>-<host>.log                 `vauban boot`'s serial console
//   .vauban/ansible.git                             the Ansible repository's branches, fetched into run after run
//   .vauban/baselines/<key>.gz                      the tree conffs hosts' containers of an image start from
//   .vauban/inventories/<key>.json                  the inventory a stage reads, as Ansible listed it
//   .vauban/kept/<master>/<artifact>                each master's own rootfs.tgz, SBOM, kernel and
//                                                   initramfs (hard links, with their records): the
//                                                   files above are the last master's, as with vauban.sh
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { KERNEL_LINKS, ROOTFS, SBOM, conffsMember } from '../pxe/layout.js';

export type KernelArtifact = (typeof KERNEL_LINKS)[number];
export const VMLINUZ: KernelArtifact = 'vmlinuz';
export const INITRAMFS: KernelArtifact = 'initramfs.img';
export const ROOTFS_TARBALL = ROOTFS;
export const SBOM_FILE = SBOM;
/** The squashfs inside rootfs.tgz, the one member dracut's module takes out of it. */
export const ROOTFS_IMAGE = 'rootfs.img';
export const VAULT_DIR = 'vault';
export const CONFFS_DIR = 'overlayfs';
/** Stands for the run's start (runStamp) until the run has one. */
export const TIME_PLACEHOLDER = '<time>';

/** The run's start as the kept conffs folders and the hosts' logs name it: ISO 8601 to the second, UTC (they sort as text). */
export function runStamp(startedAt: Date): string {
  return startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** This run's folder of a host's conffs (what the upload sends from). */
export function conffsFolder(host: string): string {
  return `${CONFFS_DIR}/overlayfs-${host}`;
}

/** The same folder once the run that made it has ended (A12): never uploaded twice. */
export function keptConffsFolder(stamp: string, host: string): string {
  return `${CONFFS_DIR}/${stamp}-overlayfs-${host}`;
}

/** A host's conffs archive in a folder of CONFFS_DIR (conffsFolder or keptConffsFolder). */
export function conffsArchiveIn(folder: string, host: string): string {
  return `${folder}/${conffsMember(host)}`;
}

/** `overlayfs/overlayfs-<host>/conffs-<host>.tgz` */
export function conffsArchive(host: string): string {
  return conffsArchiveIn(conffsFolder(host), host);
}

/** `overlayfs/<time>-overlayfs-<host>/conffs-<host>.tgz` */
export function keptConffsArchive(stamp: string, host: string): string {
  return conffsArchiveIn(keptConffsFolder(stamp, host), host);
}

/** The folder of a conffs folder's boot entries by MAC address (B15). */
export function macEntriesIn(folder: string): string {
  return `${folder}/by-mac`;
}

/** A host's boot entry by MAC address, written beside its conffs. */
export function macEntryIn(folder: string, mac: string): string {
  return `${macEntriesIn(folder)}/${mac}.ipxe`;
}

const KEPT = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)-overlayfs-(.+)$/;

/** The run stamp and host of a kept folder's name (a name in CONFFS_DIR), else undefined. */
export function parseKeptConffsFolder(name: string): { stamp: string; host: string } | undefined {
  const match = KEPT.exec(name);
  return match === null ? undefined : { stamp: match[1] as string, host: match[2] as string };
}

/** Of the names in CONFFS_DIR, the kept folders of `host` (as keptConffsFolder names them), oldest first. */
export function keptConffsFoldersOf(names: readonly string[], host: string): string[] {
  return names
    .filter((name) => parseKeptConffsFolder(name)?.host === host)
    .sort()
    .map((name) => `${CONFFS_DIR}/${name}`);
}

export const KEPT_DIR = '.vauban/kept';
/** The bare repository a run fetches the Ansible branches into: kept, so a run fetches only what is new. */
export const KEPT_MIRROR = '.vauban/ansible.git';
/** The trees conffs hosts' containers start from, per source image (src/conffs/kept-baselines.ts). */
export const KEPT_BASELINES = '.vauban/baselines';
/** The inventories stages read, as Ansible listed them (src/ansible/kept-inventories.ts). */
export const KEPT_INVENTORIES = '.vauban/inventories';

/** Master `name`'s own copy of an artifact it wrote in the output folder (rootfs.tgz, sbom.cdx.json, vmlinuz, initramfs.img). */
export function keptArtifact(name: string, artifact: string): string {
  // An image name may hold a / (a registry path): one folder per master all the same.
  return `${KEPT_DIR}/${name.replaceAll('%', '%25').replaceAll('/', '%2F')}/${artifact}`;
}

/** A host's conffs log, in the log folder (VAUBAN_LOG_DIR). */
export function hostLogName(prefix: string, host: string, stamp: string): string {
  return `${prefix}-${host}-${stamp}`;
}

/** `vauban boot`'s serial console log, in the folder of the artifacts it booted. */
export function bootSerialLogName(master: string, host: string): string {
  return `vauban-boot-${master}-${host}.log`;
}

/** Refuses ids that would put a vault file outside vault/ (an inventory name with /, .. or spaces). */
export function assertVaultId(id: string): void {
  if (id === '' || id.startsWith('/') || id.split('/').some((part) => part === '..' || part === '.' || part === '') || /[\s\\:]/.test(id)) {
    throw new VaubanError(`'${id}' cannot name a vault entry: expected a host or image name without spaces, '..' or a leading '/'`);
  }
}

export function vaultFile(vaultDir: string, id: string): string {
  assertVaultId(id);
  return path.join(vaultDir, `${id}.tar.gpg`);
}
