// How an error ends a command: one line (and a hint), the chain of causes and
// the stack only with --debug.
import { VaubanError, errorChain } from '../errors.js';

export function describeFailure(error: unknown, debug: boolean): { text: string; exitCode: number } {
  const lines: string[] = [];
  const chain = errorChain(error);
  lines.push(`error: ${chain[0] ?? 'unknown error'}`);
  if (error instanceof VaubanError && error.hint) lines.push(`hint: ${error.hint}`);
  if (debug) {
    for (const cause of chain.slice(1)) lines.push(`  caused by: ${cause}`);
    if (error instanceof Error && error.stack) lines.push(error.stack);
  } else if (!(error instanceof VaubanError)) {
    lines.push('(an unexpected error: run again with --debug for the details)');
  }
  return { text: lines.join('\n'), exitCode: error instanceof VaubanError ? error.exitCode : 1 };
}
