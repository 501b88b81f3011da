// `--version` of every command (issue 31): the package's version, and in a git
// checkout the commit it runs from. Read from files only (no git process):
// answering it costs what `vauban -h` costs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
/** "vauban 0.1.0" and, in a checkout, " (commit 1a2b3c4d5e6f)". */
export function versionText(installDir: string): string {
  const { version } = JSON.parse(readFileSync(path.join(installDir, 'package.json'), 'utf8')) as { version?: string };
  const commit = checkoutCommit(installDir);
  return `vauban ${version ?? 'unknown'}${commit === undefined ? '' : ` (commit ${commit.slice(0, 12)})`}`;
}

/** The commit HEAD names in `dir`'s .git, or undefined (an installed package has none). */
export function checkoutCommit(dir: string): string | undefined {
  const gitDir = path.join(dir, '.git');
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(path.join(gitDir, file), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const head = read('HEAD');
  if (head === undefined) return undefined;
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (refs\/[\w./-]+)$/.exec(head)?.[1];
  if (ref === undefined || ref.includes('..')) return undefined;
  const loose = read(ref);
  if (loose !== undefined && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
  const packed = read('packed-refs')
    ?.split('\n')
    .map((line) => line.split(' '))
    .find(([, name]) => name === ref)?.[0];
  return packed !== undefined && /^[0-9a-f]{40,64}$/.test(packed) ? packed : undefined;
}

/** The schema of vauban's --json documents: raised when a field changes meaning or goes (new fields do not). */
export const JSON_SCHEMA_VERSION = 1;

/** What every --json document begins with (issue 31): which vauban wrote it, and in which schema. */
export function documentHeader(installDir: string): { vauban: string; schema_version: number } {
  return { vauban: versionText(installDir).replace(/^vauban /, ''), schema_version: JSON_SCHEMA_VERSION };
}

/** The --json document of a command that failed before it had anything else to say (a usage error, a failed look). */
export function failureDocument(installDir: string, exitCode: number, reason: string): string {
  return `${JSON.stringify({ ...documentHeader(installDir), result: { ok: false, exit_code: exitCode, exit_reason: reason } }, null, 2)}\n`;
}
