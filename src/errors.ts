// The one error type of vauban. Every layer that catches a failure wraps it
// with what it was doing (`cause` keeps the original), so the top level can
// print one clear line and, with --debug, the whole chain.
export interface VaubanErrorOptions {
  cause?: unknown;
  /** A short suggestion printed under the message. */
  hint?: string;
  /** Process exit status when this error ends the run (default 1). */
  exitCode?: number;
}

export class VaubanError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: VaubanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VaubanError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
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
