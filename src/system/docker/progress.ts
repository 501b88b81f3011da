// Reads the JSON-lines progress stream of the Engine API (build, import,
// push, pull). Unlike docker-modem's followProgress, an `error` or
// `errorDetail` event rejects: a failed build is never reported as a success.
import type { Readable } from 'node:stream';
import { VaubanError } from '../../errors.js';

export interface ProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  /** A layer's bytes pushed, downloaded or extracted so far, of its size. */
  progressDetail?: { current?: number; total?: number };
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string; Digest?: string; Tag?: string };
}

export interface FollowOptions {
  /** Each line of build output (the `stream` events), as it comes. */
  onLine?: (line: string) => void;
  onEvent?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

/** Consumes a progress stream; resolves with every event, rejects on the first error event. */
export async function followProgress(stream: Readable, options: FollowOptions = {}): Promise<ProgressEvent[]> {
  const events: ProgressEvent[] = [];
  let pending = '';
  let text = '';
  const onAbort = (): void => {
    stream.destroy(new VaubanError('interrupted', { cause: options.signal?.reason, exitCode: 130 }));
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      pending += (chunk as Buffer).toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) handle(line);
    }
    handle(pending);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (options.signal?.aborted) throw new VaubanError('interrupted', { cause: options.signal.reason, exitCode: 130 });
  return events;

  function handle(line: string): void {
    if (line.trim() === '') return;
    let event: ProgressEvent;
    try {
      event = JSON.parse(line) as ProgressEvent;
    } catch {
      return;
    }
    events.push(event);
    options.onEvent?.(event);
    if (event.stream !== undefined && options.onLine) {
      text += event.stream;
      const parts = text.split('\n');
      text = parts.pop() ?? '';
      for (const part of parts) options.onLine(part);
    }
    if (event.error !== undefined || event.errorDetail !== undefined) {
      if (text && options.onLine) options.onLine(text);
      throw new VaubanError(event.errorDetail?.message ?? event.error ?? 'Docker reported an error');
    }
  }
}
