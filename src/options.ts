// The resolved options of one `vauban` run, after flags and checks (A2).
import type { Stage } from './stage.js';

export type Compression = 'xz' | 'zstd';

export interface VaubanOptions {
  rootfs: boolean;
  initramfs: boolean;
  conffs: boolean;
  upload: boolean;
  /** -f: a raw disk image or a live ISO to build the base from. */
  iso: string | undefined;
  /** -d: build the base with debootstrap from Debian's mirror instead of a file (B1). */
  debianRelease: string | undefined;
  /** -s: a Docker image to build on instead of the base. */
  sourceImage: string | undefined;
  sshPrivKey: string;
  name: string;
  branch: string;
  ansibleHost: string | undefined;
  stages: Stage[];
  /** Squashfs compression of rootfs.img; undefined = the setting, else xz. */
  compression: Compression | undefined;
  /** Hosts whose conffs are built at the same time; undefined = the setting, else 20. */
  conffsParallel: number | undefined;
  /** --no-cache: build every image and artifact again (issue 12). */
  noCache: boolean;
  dryRun: boolean;
  json: boolean;
  debug: boolean;
  /** --keep-failed: a stage that fails leaves its container (renamed, named in the error) for `docker exec`. */
  keepFailed?: boolean;
}
