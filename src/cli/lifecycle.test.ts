import { describe, expect, it } from 'vitest';
import { VaubanError } from '../errors.js';
import type { Reporter } from '../reporter.js';
import { runLifecycle } from './lifecycle.js';

function fakeReporter(): { reporter: Reporter; lines: string[] } {
  const lines: string[] = [];
  const reporter = {
    warn: (message: string) => lines.push(`WARNING: ${message}`),
    error: (message: string) => lines.push(`ERROR: ${message}`),
    step: async <T>(title: string, work: () => Promise<T>) => {
      lines.push(`step ${title}`);
      return work();
    },
  } as unknown as Reporter;
  return { reporter, lines };
}

describe('runLifecycle', () => {
  it("returns the work's status and unwinds the cleanup", async () => {
    const { reporter, lines } = fakeReporter();
    const outcome = await runLifecycle({
      reporter,
      debug: false,
      work: async ({ cleanup }) => {
        cleanup.push('a resource', async () => void lines.push('released'));
        return 3;
      },
    });
    expect(outcome).toEqual({ exitCode: 3, failure: undefined, interruptedBy: undefined });
    expect(lines).toEqual(['released']);
  });

  it('prints a failure once, with its exit status, after which the cleanup still runs (as a step when asked)', async () => {
    const { reporter, lines } = fakeReporter();
    const outcome = await runLifecycle({
      reporter,
      debug: false,
      cleanupAsStep: true,
      work: async ({ cleanup }) => {
        cleanup.push('a resource', async () => void lines.push('released'));
        throw new VaubanError('the disk is full', { exitCode: 2 });
      },
    });
    expect(outcome.exitCode).toBe(2);
    expect(outcome.failure).toBe('the disk is full');
    expect(lines.filter((line) => line.startsWith('ERROR: '))).toHaveLength(1);
    expect(lines.slice(-2)).toEqual(['step cleanup', 'released']);
  });

  it('an interruption ends with 130 (SIGINT) even when the work returns another status', async () => {
    const { reporter, lines } = fakeReporter();
    const outcome = await runLifecycle({
      reporter,
      debug: false,
      work: async ({ cleanup, signal }) => {
        cleanup.push('a resource', async () => void lines.push('released'));
        // As the runtime does: the listener is given the signal's name.
        setTimeout(() => process.emit('SIGINT', 'SIGINT'), 10);
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return 1;
      },
    });
    expect(outcome.exitCode).toBe(130);
    expect(outcome.interruptedBy).toBe('SIGINT');
    expect(lines).toContain('released');
    // The signal handlers are gone: another SIGINT would now be the default one (not emitted here).
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('runs beforeCleanup before the cleanup, and its failure fails the command', async () => {
    const { reporter, lines } = fakeReporter();
    const outcome = await runLifecycle({
      reporter,
      debug: false,
      work: async ({ cleanup }) => {
        cleanup.push('a resource', async () => void lines.push('released'));
        return 0;
      },
      beforeCleanup: async () => {
        lines.push('before');
        throw new VaubanError('cannot push the vault');
      },
    });
    expect(outcome.exitCode).toBe(1);
    expect(lines).toEqual(['before', 'ERROR: cannot push the vault', 'released']);
  });
});
