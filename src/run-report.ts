// What a run made, for the recap printed at its end (A2) and the --json recap.
export interface HostResult {
  host: string;
  ok: boolean;
  log: string;
  error?: string;
  /** Paths a stage deleted: listed in the conffs, removed from the root at boot (A6, B15). */
  deletions?: string[];
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
  /** Vault files created by this run (committed in CI, A11). */
  newVaultEntries: string[];
}

export function emptyReport(): RunReport {
  return { images: [], artifacts: [], hosts: [], uploaded: [], live: [], logs: [], newVaultEntries: [] };
}
