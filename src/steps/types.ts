// What the steps hand to each other.

/** The base filesystem, mounted writable (over a read-only view of the operator's file). */
export interface MountedBase {
  /** The writable root of the base. */
  root: string;
  /** `<distributor id lowercased>-<debian_version>`, e.g. debian-12.8: the image prefix (A2). */
  osName: string;
  /** Where the base came from, for /imginfo's `iso` field. */
  origin: string;
}

export interface KernelArtifacts {
  kernelVersion: string;
  vmlinuz: string;
  initramfs: string;
}

export interface RootfsArtifact {
  /** rootfs.tgz: an uncompressed tar holding rootfs.img. */
  tarball: string;
  squashfs: string;
  /** The kernel version of the rootfs' modules: what its vmlinuz/initramfs symlinks point to. */
  kernelVersion: string;
  image: string;
}

export interface ConffsArtifact {
  host: string;
  tarball: string;
  folder: string;
}
