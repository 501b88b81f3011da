// Ansible on the build host: only to resolve a --limit pattern against the
// inventory of a branch, with Ansible's own semantics (groups, globs, `!`
// exclusions, comma lists). Playbooks themselves run inside the builds.
import { VaubanError } from '../errors.js';
import { run, type RunOptions } from './run.js';

/** The hosts of the inventory in `cwd` matching `pattern`, never the master-* ones (A7). */
export async function listHosts(pattern: string, cwd: string, runOptions: RunOptions = {}): Promise<string[]> {
  const result = await run('ansible', [`${pattern},!master-*`, '--list-hosts'], {
    ...runOptions,
    cwd,
    env: { ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
    allowFailure: true,
  });
  if (result.exitCode !== 0) {
    throw new VaubanError(`ansible could not resolve the host pattern '${pattern}': ${lastLines(result.stderr || result.stdout)}`);
  }
  return parseListHosts(result.stdout);
}

/** Reads `ansible --list-hosts` output: a "hosts (N):" header, then one host per line. */
export function parseListHosts(output: string): string[] {
  const lines = output.split('\n');
  const header = lines.findIndex((line) => /^\s*hosts \(\d+\):\s*$/.test(line));
  if (header === -1) return [];
  return lines
    .slice(header + 1)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('[WARNING]'));
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ');
}
