// The one error type of vauban. Every layer that catches a failure wraps it
// with what it was doing (`cause` keeps the original), so the top level can
// print one clear line and, with --debug, the whole chain.
/**
 * What a command's exit status says (issue 31; the README's table): scripts and
 * GitLab's `allow_failure: exit_codes` tell them apart. Interrupted runs exit
 * 128 + the signal's number (129, 130, 143).
 */
export const EXIT = {
  /** A usage or configuration error: nothing was built (vauban.sh's checks exit 1, A2). */
  usage: 1,
  /** A step of the build failed. */
  build: 2,
  /** Some conffs hosts failed; the others were built. */
  someHosts: 3,
} as const;

export interface VaubanErrorOptions {
  cause?: unknown;
  /** A short suggestion printed under the message. */
  hint?: string;
  /** Process exit status when this error ends the run (default 1, or what the phase it ends says: duringBuild). */
  exitCode?: number;
}

export class VaubanError extends Error {
  readonly hint: string | undefined;
  private status: number | undefined;

  constructor(message: string, options: VaubanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VaubanError';
    this.hint = options.hint;
    this.status = options.exitCode;
  }

  /** The process exit status when this error ends the command. */
  get exitCode(): number {
    return this.status ?? EXIT.usage;
  }

  /** Gives the error `code` as its exit status, unless it was given one already. */
  defaultExitCode(code: number): this {
    this.status ??= code;
    return this;
  }
}

/**
 * Runs `work` (the build, past its preflight): what fails there is a build
 * failure (EXIT.build), unless its error says otherwise (hosts, interruption).
 */
export async function duringBuild<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof VaubanError) throw error.defaultExitCode(EXIT.build);
    throw new VaubanError(error instanceof Error ? error.message : String(error), {
      cause: error,
      exitCode: EXIT.build,
      hint: 'an unexpected error: run again with --debug for the details',
    });
  }
}

/** The messages of an error and of its causes, outermost first. */
export function errorChain(error: unknown): string[] {
  const messages: string[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && messages.length < 20) {
    if (current instanceof Error) {
      messages.push(current.message);
      current = current.cause;
    } else {
      messages.push(String(current));
      break;
    }
  }
  return messages;
}

/** Stops work about to start once the run was interrupted (Ctrl-C, SIGTERM). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof VaubanError ? signal.reason : new VaubanError('interrupted', { cause: signal.reason, exitCode: 130 });
  }
}
