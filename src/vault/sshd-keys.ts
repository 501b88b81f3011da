// The sshd host keys of a master or a host, from the vault (A11): decrypted
// when the entry exists, generated and stored at once when it does not.
import type { RunOptions } from '../system/run.js';
import { generateHostKeys, type KeyFile } from '../system/ssh-keygen.js';
import { readVaultEntry, writeVaultEntry } from './vault.js';

/** What the keys are kept in, and who hears of a new entry. */
export interface KeyVault {
  dir: string;
  passphrase: string;
  runOptions: RunOptions;
  /** A new entry was written (CI commits it; the run says it). */
  onNewEntry: (file: string, id: string) => void;
}

export async function sshdKeysFor(vault: KeyVault, id: string): Promise<KeyFile[]> {
  const existing = await readVaultEntry(vault.dir, id, vault.passphrase);
  if (existing !== undefined) return existing;
  const keys = await generateHostKeys(vault.runOptions);
  const file = await writeVaultEntry(vault.dir, id, keys, vault.passphrase);
  vault.onNewEntry(file, id);
  return keys;
}
