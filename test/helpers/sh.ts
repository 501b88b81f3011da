// Small helpers for tests that drive real programs.
import { execa } from 'execa';

/** Runs a command, returns its stdout; throws with stderr on failure. */
export async function sh(command: string, args: readonly string[], options: { input?: string; cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const result = await execa(command, args, { ...options, reject: false });
  if (result.exitCode !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.exitCode}): ${String(result.stderr).slice(-2000)}`);
  }
  return String(result.stdout);
}

/** Runs a shell snippet with bash; `args` are its $1, $2, ... */
export function bash(script: string, options: { cwd?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<string> {
  return sh('bash', ['-euo', 'pipefail', '-c', script, 'bash', ...(options.args ?? [])], options);
}

/** A name no other test run uses: for images, containers and folders. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
