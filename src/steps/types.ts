// What the steps hand to each other.

/** The base file system, as a writable folder (over a read-only view of the operator's file). */
export interface MountedBase {
  /** The writable root of the base. */
  root: string;
  /** Where the base came from, for /imginfo's `iso` field: the file's name, or debootstrap-<release>. */
  origin: string;
}

/** The base imported into Docker (A4). */
export interface ImportedBase {
  /** `<os name>`, e.g. debian-12.8: the prefix of the images. */
  prefix: string;
  /** `<prefix>/iso`: what the stages are applied on. */
  image: string;
}

export interface KernelArtifacts {
  kernelVersion: string;
  vmlinuz: string;
  initramfs: string;
}

export interface RootfsArtifact {
  /** rootfs.tgz: an uncompressed tar holding rootfs.img. */
  tarball: string;
  /** sbom.cdx.json: the master's CycloneDX SBOM, beside rootfs.tgz. */
  sbom: string | undefined;
  /** The kernel version of the rootfs: what its vmlinuz/initramfs symlinks point to (A9). */
  kernelVersion: string | undefined;
  image: string;
}

export interface ConffsArtifact {
  host: string;
  tarball: string;
  folder: string;
  /** The host's boot entry by MAC address (B15), written when the inventory gives it a vauban_mac. */
  byMac?: { mac: string; file: string };
}
