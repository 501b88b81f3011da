// What a run made, for the recap printed at its end (A2) and the --json recap.
export interface HostResult {
  host: string;
  ok: boolean;
  log: string;
  error?: string;
  /** Paths a stage deleted, which a conffs tar cannot carry (A6). */
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
  /** Log files and folders of this run. */
  logs: string[];
  /** Vault files created by this run (committed in CI, A11). */
  newVaultEntries: string[];
}

export function emptyReport(): RunReport {
  return { images: [], artifacts: [], hosts: [], uploaded: [], logs: [], newVaultEntries: [] };
}
