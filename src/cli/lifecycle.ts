// The life of every command that acquires resources (vauban, vauban-release,
// vauban-version-control, vauban boot): private files (umask 077), one
// cleanup stack, Ctrl-C/SIGTERM/SIGHUP turned into an abort of the work, a
// failure printed once, the stack unwound whatever happened, and the exit
// status of an interruption (130, 143, 129) whatever the work returned.
// session.ts adds what a build needs on top (work folder, lock, recap).
import type { Reporter } from '../reporter.js';
import { CleanupStack } from '../system/cleanup.js';
import { interruptedExitCode, watchInterruptions } from './command.js';
import { describeFailure } from './fail.js';

export interface Lifecycle {
  cleanup: CleanupStack;
  signal: AbortSignal;
}

export interface LifecycleOutcome {
  exitCode: number;
  /** The error that ended the work, its first line; undefined when nothing failed. */
  failure: string | undefined;
  interruptedBy: NodeJS.Signals | undefined;
}

export interface LifecycleInput {
  reporter: Reporter;
  debug: boolean;
  /** The command's work; resolves with its exit status. */
  work: (life: Lifecycle) => Promise<number>;
  /**
   * Runs after the work, before the cleanup, whatever happened (vault entries
   * committed in CI); a failure there is printed and ends the command with status 1.
   */
  beforeCleanup?: () => Promise<void>;
  /** The cleanup shown as a step of its own (a build's output), or done quietly. */
  cleanupAsStep?: boolean;
}

/** The first line of a failure, for a machine-readable result. */
export function failureLine(error: unknown): string {
  return describeFailure(error, false).text.split('\n')[0]?.replace(/^error: /, '') ?? '';
}

export async function runLifecycle(input: LifecycleInput): Promise<LifecycleOutcome> {
  const { reporter } = input;
  // Archives, vault entries, logs, temporary trees: private to root. What goes into images gets its modes explicitly.
  process.umask(0o077);
  const cleanup = new CleanupStack();
  const interruption = watchInterruptions(reporter);
  let exitCode = 0;
  let failure: string | undefined;
  /** Prints a failure (the first is the one kept for the result); returns its exit status. */
  const report = (error: unknown): number => {
    const described = describeFailure(error, input.debug);
    reporter.error(described.text.replace(/^error: /, ''));
    failure ??= failureLine(error);
    return described.exitCode;
  };
  try {
    exitCode = await input.work({ cleanup, signal: interruption.signal });
  } catch (error) {
    exitCode = report(error);
  } finally {
    if (input.beforeCleanup !== undefined) {
      await input.beforeCleanup().catch((error: unknown) => {
        report(error);
        exitCode = 1;
      });
    }
    const unwind = () => cleanup.unwind((label, error) => reporter.warn(`cleanup of ${label} failed: ${(error as Error).message}`));
    await (input.cleanupAsStep ? reporter.step('cleanup', unwind) : unwind());
    interruption.dispose();
  }
  const interruptedBy = interruption.received();
  if (interruptedBy !== undefined) exitCode = interruptedExitCode(interruptedBy);
  return { exitCode, failure, interruptedBy };
}
