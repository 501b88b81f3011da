// What `sha256sum` prints, read back from a server: one place, for the
// release's SHA256SUMS, the checks after a copy and the shares of a release.

/** `sha256  name` lines (text or binary mode) as sha256 by name; other lines are skipped. */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match !== null) sums.set(match[2] as string, match[1] as string);
  }
  return sums;
}
