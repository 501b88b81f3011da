// How an error ends a command: one line (and a hint), the chain of causes and
// the stack only with --debug.
import { VaubanError, errorChain } from '../errors.js';

/**
 * The system's reason an operation failed (EACCES, ENOSPC...), from the first
 * error of the chain that carries one, as Node gives it ("permission denied,
 * open '/x'"): said on the error's line, not only with --debug (issue 31).
 */
export function systemCause(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 20; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
      const said = /^E[A-Z0-9]+: ([^,]+)/.exec(current.message)?.[1];
      return said === undefined ? code : `${code}: ${said}`;
    }
  }
  return undefined;
}

export function describeFailure(error: unknown, debug: boolean): { text: string; exitCode: number } {
  const lines: string[] = [];
  const chain = errorChain(error);
  const first = chain[0] ?? 'unknown error';
  const cause = systemCause(error);
  const code = cause?.split(':')[0];
  lines.push(`error: ${first}${cause !== undefined && code !== undefined && !first.includes(code) ? ` (${cause})` : ''}`);
  if (error instanceof VaubanError && error.hint) lines.push(`hint: ${error.hint}`);
  if (debug) {
    for (const cause of chain.slice(1)) lines.push(`  caused by: ${cause}`);
    if (error instanceof Error && error.stack) lines.push(error.stack);
  } else if (!(error instanceof VaubanError)) {
    lines.push('(an unexpected error: run again with --debug for the details)');
  }
  return { text: lines.join('\n'), exitCode: error instanceof VaubanError ? error.exitCode : 1 };
}
