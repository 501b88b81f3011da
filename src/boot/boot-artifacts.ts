// What `vauban boot` boots: the artifacts of a build (--dir), or the live
// release of a master in a folder laid out as a PXE server is (--pxe-dir: what
// an upload, a promote or a rollback left there).
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { CONFFS_DIR, INITRAMFS, ROOTFS_TARBALL, VMLINUZ, conffsArchiveIn, conffsFolder, keptConffsFoldersOf, macEntriesIn } from '../model/local-layout.js';
import { BY_MAC_DIR, ROOTFS, conffsMember, currentLink, entryMember, releaseDir, releaseOfCurrent } from '../pxe/layout.js';

export interface BootArtifacts {
  vmlinuz: string;
  initramfs: string;
  rootfs: string;
  conffs: string;
  /** The host's entry by MAC address, when it has one. */
  byMac: { mac: string; file: string } | undefined;
  /** The release these files are (--pxe-dir); undefined for a build's artifacts. */
  release: string | undefined;
}

/** The artifacts of a build in `dir`; the host's conffs of the run under way (or cut before its end), else the newest kept one. */
export function buildArtifacts(dir: string, host: string): BootArtifacts {
  const file = (name: string): string => {
    const full = path.join(dir, name);
    if (!existsSync(full)) throw new VaubanError(`${full} does not exist: build it first (vauban -i yes / -r yes)`);
    return full;
  };
  const overlayfs = path.join(dir, CONFFS_DIR);
  const current = existsSync(path.join(dir, conffsFolder(host))) ? conffsFolder(host) : existsSync(overlayfs) ? keptConffsFoldersOf(readdirSync(overlayfs), host).at(-1) : undefined;
  if (current === undefined) throw new VaubanError(`no conffs of ${host} in ${overlayfs}: build it first (vauban -l yes -a ${host})`);
  const byMacDir = path.join(dir, macEntriesIn(current));
  const macFile = existsSync(byMacDir) ? readdirSync(byMacDir).find((name) => name.endsWith('.ipxe')) : undefined;
  return {
    vmlinuz: file(VMLINUZ),
    initramfs: file(INITRAMFS),
    rootfs: file(ROOTFS_TARBALL),
    conffs: file(conffsArchiveIn(current, host)),
    byMac: macFile === undefined ? undefined : { mac: macFile.slice(0, -'.ipxe'.length), file: path.join(byMacDir, macFile) },
    release: undefined,
  };
}

/**
 * The files of the release `<master>/current` points to in `pxeDir`, and the
 * host's entry by MAC address among `boot/by-mac/` (the one that chains to its
 * entry). Read only: nothing of `pxeDir` is changed.
 */
export function liveReleaseArtifacts(pxeDir: string, master: string, host: string): BootArtifacts {
  const link = path.join(pxeDir, currentLink(master));
  let target: string;
  try {
    target = readlinkSync(link);
  } catch {
    throw new VaubanError(`${link} is not a link: ${pxeDir} has no live release of ${master}`, { hint: 'upload one (vauban -u yes) or make one live (vauban promote)' });
  }
  const release = releaseOfCurrent(target);
  if (release === undefined) throw new VaubanError(`${link} points to ${target}, not to a release`);
  const folder = path.join(pxeDir, releaseDir(master, release));
  // Each member as the web server would follow it (the kernel links lead to linux/), inside pxeDir.
  const member = (name: string): string => {
    const full = path.join(folder, name);
    let resolved: string;
    try {
      resolved = realpathSync(full);
    } catch {
      throw new VaubanError(`${full} does not exist: release ${release} of ${master} has no ${name}`);
    }
    if (!resolved.startsWith(`${realpathSync(pxeDir)}${path.sep}`)) throw new VaubanError(`${full} leads out of ${pxeDir} (to ${resolved})`);
    return resolved;
  };
  const chain = `chain ../${entryMember(host)}`;
  const byMacDir = path.join(pxeDir, BY_MAC_DIR);
  const macFile = existsSync(byMacDir)
    ? readdirSync(byMacDir)
        .sort()
        .find((name) => name.endsWith('.ipxe') && readFileSync(path.join(byMacDir, name), 'utf8').split('\n').includes(chain))
    : undefined;
  return {
    vmlinuz: member(VMLINUZ),
    initramfs: member(INITRAMFS),
    rootfs: member(ROOTFS),
    conffs: member(conffsMember(host)),
    byMac: macFile === undefined ? undefined : { mac: macFile.slice(0, -'.ipxe'.length), file: path.join(byMacDir, macFile) },
    release,
  };
}
