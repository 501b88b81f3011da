// The sshd host keys of a master or a host, from the vault (A11): decrypted
// when the entry exists, generated and stored at once when it does not.
import type { Context } from '../context.js';
import { generateHostKeys, type KeyFile } from '../system/ssh-keygen.js';
import { readVaultEntry, writeVaultEntry } from './vault.js';

export async function sshdKeysFor(ctx: Context, id: string): Promise<KeyFile[]> {
  const passphrase = ctx.settings.values.VAULTED_SSHD_KEYS_KEY ?? '';
  const existing = await readVaultEntry(ctx.vaultDir, id, passphrase);
  if (existing !== undefined) return existing;
  const keys = await generateHostKeys(ctx.runOptions);
  const file = await writeVaultEntry(ctx.vaultDir, id, keys, passphrase);
  ctx.report.newVaultEntries.push(file);
  ctx.reporter.info(`generated sshd keys for ${id}, stored in ${file}`);
  return keys;
}
