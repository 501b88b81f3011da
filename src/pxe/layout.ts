// Where everything lives on a PXE server (A9, B14, B15), relative to
// UPLOAD_DIR. Pure: the plan, the upload, `vauban boot`, promote and rollback
// all name paths through here and nowhere else.
//
//   linux/vmlinuz-<kver>, linux/initramfs.img-<kver>          shared by every release
//   <name>/releases/<release>/rootfs.tgz, conffs-<host>.tgz   one release: the whole set
//   <name>/releases/<release>/vmlinuz -> ../../../linux/vmlinuz-<kver>  (and initramfs.img)
//   <name>/releases/<release>/<host>.ipxe, SHA256SUMS(.sig)    generated for that set (signed with the project key)
//   <name>/current -> releases/<release>                       the live release
//   <name>/rootfs.tgz -> current/rootfs.tgz ...                the article's paths, through current
//   boot/<host>.ipxe -> ../<name>/current/<host>.ipxe          a host's entry follows its live release
//   boot/by-mac/<mac>.ipxe                                     chains to ../<host>.ipxe
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { isKernelVersion } from '../system/kernel-version.js';
import { isReleaseName } from '../model/release-name.js';

/** Stands for the release's name until the run starts. */
export const RELEASE_PLACEHOLDER = '<release>';

export const ROOTFS = 'rootfs.tgz';
/** The master's SBOM (B16), a member of the release beside its rootfs. */
export const SBOM = 'sbom.cdx.json';
export const KERNEL_LINKS = ['vmlinuz', 'initramfs.img'] as const;
export const SUMS = 'SHA256SUMS';
/** SHA256SUMS signed with the project's key (B19): what the initramfs checks before it trusts a sum. */
export const SUMS_SIGNATURE = 'SHA256SUMS.sig';
/** The shared kernel files' folder, the hosts' boot entries, their entries by MAC address. */
export const KERNEL_DIR = 'linux';
export const BOOT_DIR = 'boot';
export const BY_MAC_DIR = `${BOOT_DIR}/by-mac`;
/** Inside a master's folder: its releases, and the link to the live one. */
const RELEASES = 'releases';
const CURRENT = 'current';

/** A release's name: its UTC start, sortable, then the run's id (two runners may start in the same second). */
export function releaseName(startedAt: Date, runId: string): string {
  const stamp = startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `${stamp}-${runId.replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
}

export { isReleaseName };

export function assertReleaseName(name: string): void {
  if (!isReleaseName(name)) throw new VaubanError(`'${name}' is not a release name (e.g. 20260120T143205Z-ab12cd, as \`vauban promote <name>\` lists them)`);
}

export function conffsMember(host: string): string {
  return `conffs-${host}.tgz`;
}

export function entryMember(host: string): string {
  return `${host}.ipxe`;
}

/** The host of a `conffs-<host>.tgz` member, else undefined. */
export function hostOfConffs(member: string): string | undefined {
  return /^conffs-(.+)\.tgz$/.exec(member)?.[1];
}

export function kernelFile(kind: (typeof KERNEL_LINKS)[number], kernelVersion: string): string {
  return `${KERNEL_DIR}/${kind}-${kernelVersion}`;
}

export function releasesDir(name: string): string {
  return `${name}/${RELEASES}`;
}

export function releaseDir(name: string, release: string): string {
  return `${releasesDir(name)}/${release}`;
}

/** The folders an upload of the master `name` writes in (made when missing). */
export function uploadFolders(name: string, withKernelFiles: boolean): string[] {
  return [name, releasesDir(name), BOOT_DIR, BY_MAC_DIR, ...(withKernelFiles ? [KERNEL_DIR] : [])];
}

/**
 * What a path of a master's folder listing (relative to `<name>/`) is: the
 * live link, the releases folder, a release folder or something in one, or
 * a file at the top.
 */
export function classifyMasterPath(relative: string): { kind: 'current' | 'releases' | 'top' } | { kind: 'release'; release: string; member: string | undefined } | { kind: 'other' } {
  const parts = relative.split('/');
  if (parts.length === 1) return relative === CURRENT ? { kind: 'current' } : relative === RELEASES ? { kind: 'releases' } : { kind: 'top' };
  if (parts[0] === RELEASES && isReleaseName(parts[1] as string) && parts.length <= 3) return { kind: 'release', release: parts[1] as string, member: parts[2] };
  return { kind: 'other' };
}

/** Where a release is filled before it is complete: a dot folder, never a release, never served as one. */
/** What a release's folder is called while it is staged: a dot folder, never served, never a release. */
export const PARTIAL_PREFIX = '.partial-';

export function stagingDir(name: string, release: string): string {
  return `${releasesDir(name)}/${PARTIAL_PREFIX}${release}`;
}

/**
 * Where the shares of a release are gathered before `vauban promote` makes
 * one release of them (issue 29): one dot folder (never a release, never
 * served as one), a sub-folder and a manifest per share.
 */
export function sharesDir(name: string, release: string): string {
  return `${releasesDir(name)}/.shares-${release}`;
}

/**
 * A share's name: the shard `I-of-N` of a sharded run; else what the run
 * builds, `rootfs` (the master's job, with whatever else it builds),
 * `initramfs` or `conffs`: the jobs of one pipeline never share a name.
 */
export function shareLabel(shard: { index: number; total: number } | undefined, builds: { rootfs: boolean; initramfs: boolean }): string {
  if (shard !== undefined) return `${shard.index}-of-${shard.total}`;
  return builds.rootfs ? 'rootfs' : builds.initramfs ? 'initramfs' : 'conffs';
}

/** A share's manifest in the shares folder (written last: a share without one is not there yet). */
export function shareManifest(label: string): string {
  return `${label}.json`;
}

/** The staged releases a master's listing shows (`releases/.shares-<release>`). */
export function releaseOfSharesDir(entry: string): string | undefined {
  const release = /^\.shares-(.+)$/.exec(entry)?.[1];
  return release !== undefined && isReleaseName(release) ? release : undefined;
}

/**
 * Where a file or link of the server is written before one rename puts it at
 * `file`: beside it, hidden (never served), named by the run (its own only).
 */
export function temporaryBeside(file: string, runId: string): string {
  return `${path.posix.dirname(file)}/.${path.posix.basename(file)}.vauban-${runId}`;
}

/** The master's lock on a server (hidden: never served, never a release). */
export function lockFile(name: string): string {
  return `${name}/.vauban.lock`;
}

export function currentLink(name: string): string {
  return `${name}/${CURRENT}`;
}

/** What `<name>/current` points to for a release. */
export function currentTarget(release: string): string {
  return `${RELEASES}/${release}`;
}

/** The release a `current` link names, or undefined for anything else. */
export function releaseOfCurrent(target: string): string | undefined {
  const release = new RegExp(`^${RELEASES}/([^/]+)/?$`).exec(target)?.[1];
  return release !== undefined && isReleaseName(release) ? release : undefined;
}

/** Inside a release, where its kernel links point (three folders up is UPLOAD_DIR). */
export function kernelLinkTarget(kind: (typeof KERNEL_LINKS)[number], kernelVersion: string): string {
  return `../../../${kernelFile(kind, kernelVersion)}`;
}

/** A kernel link of the flat layout (`<name>/vmlinuz -> ../linux/...`), as the same link inside a release. */
export function flatLinkInRelease(target: string): string | undefined {
  return isKernelLinkTarget(target, '../') ? `../../${target}` : undefined;
}

/**
 * True when `target`, read back from a server, is a kernel link vauban makes:
 * `<up>linux/vmlinuz-<version>` or `<up>linux/initramfs.img-<version>`, nothing
 * that walks elsewhere (`../linux/../..`).
 */
export function isKernelLinkTarget(target: string, up: string): boolean {
  if (!target.startsWith(`${up}${KERNEL_DIR}/`)) return false;
  const file = target.slice(up.length + KERNEL_DIR.length + 1);
  return KERNEL_LINKS.some((kind) => file.startsWith(`${kind}-`) && isKernelVersion(file.slice(kind.length + 1)));
}

/** A name a release may hold, as read back from a server: one plain file name (no '/', no '..', not hidden). */
export function isMemberName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) && !name.includes('..') && name.length <= 255;
}

/** The article's path of a release member (`<name>/rootfs.tgz`) and where it points: through current. */
export function dropInLink(name: string, member: string): { path: string; target: string } {
  return { path: `${name}/${member}`, target: `${CURRENT}/${member}` };
}

/** Members of a release that get a drop-in path at `<name>/` (the generated files do not). */
export function hasDropIn(member: string): boolean {
  return member === ROOTFS || member === SBOM || (KERNEL_LINKS as readonly string[]).includes(member) || hostOfConffs(member) !== undefined;
}

export function bootEntryLink(name: string, host: string): { path: string; target: string } {
  return { path: `${BOOT_DIR}/${entryMember(host)}`, target: `../${name}/${CURRENT}/${entryMember(host)}` };
}

/** A MAC address as iPXE's `${net0/mac:hexhyp}` spells it (52-54-00-12-34-56), or undefined when it is none. */
export function normalizeMac(value: string): string | undefined {
  const match = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(value.trim());
  return match === null ? undefined : match.slice(1).join('-').toLowerCase();
}

export function byMacEntry(mac: string): string {
  return `${BY_MAC_DIR}/${mac}.ipxe`;
}

/** The releases to remove: all but the `keep` newest, never the live one. */
export function releasesToPrune(releases: readonly string[], current: string | undefined, keep: number): string[] {
  const newestFirst = [...releases].sort().reverse();
  const kept = new Set(newestFirst.slice(0, Math.max(keep, 1)));
  if (current !== undefined) kept.add(current);
  return newestFirst.filter((release) => !kept.has(release)).reverse();
}

/** The release before `current` (by name, i.e. by time), for a rollback. */
export function previousRelease(releases: readonly string[], current: string): string | undefined {
  return [...releases].filter((release) => release < current).sort().at(-1);
}
