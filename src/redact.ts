// Secrets never printed: the console and every log file replace them by ***.
/** `text` with every secret of 4 characters or more replaced by ***. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
