// What a run made, for the recap printed at its end (A2) and the --json recap.
export interface HostResult {
  host: string;
  ok: boolean;
  log: string;
  error?: string;
  /** A failed host: the task it failed on and the module's message, read from its log (issue 31). */
  failedTask?: string;
  message?: string;
  /** Paths a stage deleted: listed in the conffs, removed from the root at boot (A6, B15). */
  deletions?: string[];
}

/** One decision of the cache (issue 12): an image, artifact or conffs reused or built, and why. */
export interface CacheEntry {
  kind: 'image' | 'artifact' | 'conffs';
  name: string;
  action: 'reuse' | 'build';
  reason: string;
  /** The image id, or the file's sha256, once known. */
  id?: string;
}

export interface RunReport {
  /** Images built or tagged, in order. */
  images: string[];
  /** Local artifacts written. */
  artifacts: string[];
  hosts: HostResult[];
  /** `server:path` of every file uploaded. */
  uploaded: string[];
  /** `server: <name> release <release> (was <release>)`: releases made live (B14). */
  live: string[];
  /** Log files and folders of this run. */
  logs: string[];
  /** Per image, artifact and conffs: reused or built, and why (issue 12). */
  cache: CacheEntry[];
  /** Vault files created by this run (committed in CI, A11). */
  newVaultEntries: string[];
}

export function emptyReport(): RunReport {
  return { images: [], artifacts: [], hosts: [], uploaded: [], live: [], logs: [], newVaultEntries: [], cache: [] };
}
