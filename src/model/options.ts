// The resolved options of one `vauban` run, after flags and checks (A2).
import type { Compression } from '../system/squashfs.js';
import type { Shard } from './shard.js';
import type { Stage } from './stage.js';

export type { Compression };

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
  /**
   * vauban-version-control (A14): the registry image (`<registry>/vauban/<image>:<tag>`) whose
   * rootfs is made and uploaded as the master `name`: no base, no stage, no conffs.
   */
  redeploy?: string;
  /** --shard I/N: the conffs of share I of N of the hosts -a selects, nothing else (issue 29). */
  shard?: Shard;
  /** --release R: the upload is a share of the staged release R, made live by `vauban promote` (issue 29). */
  release?: string;
}

/** The values of `vauban`'s flags left out (A2): the defaults of vauban.sh. */
export const OPTION_DEFAULTS = {
  sshPrivKey: './ansible-ro',
  name: 'master-test',
  branch: 'master',
} as const;

/** The options of a run that builds only what `wanted` says (every step off, every flag at its default, otherwise). */
export function vaubanOptions(wanted: Partial<VaubanOptions>): VaubanOptions {
  return {
    rootfs: false,
    initramfs: false,
    conffs: false,
    upload: false,
    iso: undefined,
    debianRelease: undefined,
    sourceImage: undefined,
    ...OPTION_DEFAULTS,
    ansibleHost: undefined,
    stages: [],
    compression: undefined,
    conffsParallel: undefined,
    noCache: false,
    dryRun: false,
    json: false,
    debug: false,
    ...wanted,
  };
}
