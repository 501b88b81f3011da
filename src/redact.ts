// Secrets never printed: the console and every log file replace them by ***.

/**
 * `text` with every secret replaced by ***. A secret of 4 characters or more
 * goes wherever it appears; a shorter one (a weak passphrase, but a secret
 * still) wherever it stands alone, between characters that are neither
 * letters nor digits: replacing "ab" inside every word would make the output
 * unreadable and tell the secret all the same.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
    else if (secret.length > 0) out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(secret)}(?![\\p{L}\\p{N}])`, 'gu'), '***');
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
