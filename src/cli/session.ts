// The run of every command that builds or deploys (vauban, vauban-release,
// vauban-version-control): the common lifecycle (lifecycle.ts: umask,
// cleanup stack, interruptions, failure printing) plus the work folder, the
// lock of the working directory, new vault entries committed in CI, old
// conffs folders pruned, the recap. A command only gives its work.
import path from 'node:path';
import type { LoadedSettings } from '../config/settings.js';
import type { Reporter } from '../reporter.js';
import { emptyReport, type RunReport } from '../model/run-report.js';
import { failureLine, runLifecycle } from './lifecycle.js';
import { printRecap } from './recap.js';
import type { CommandIo } from './io.js';
import type { RunResources } from '../context.js';

/** A session's resources, as a run's context holds them. */
export type Session = RunResources;

/** How a session ended, for a machine-readable result (--json). */
export interface SessionOutcome {
  exitCode: number;
  report: RunReport;
  /** The error that ended the work, its first line; undefined when nothing failed. */
  failure: string | undefined;
  interruptedBy: NodeJS.Signals | undefined;
  startedAt: Date;
  finishedAt: Date;
}

export interface SessionInput {
  io: CommandIo;
  settings: LoadedSettings;
  reporter: Reporter;
  debug: boolean;
  /** The command line, named in the lock file for a run that waits. */
  command: string;
  /** The command's work; resolves with its exit status (0 when everything asked for was made). */
  work: (session: Session) => Promise<number>;
  /** Called last, after the recap (which went to stderr): --json writes the result to stdout there. */
  onFinish?: (outcome: SessionOutcome) => Promise<void>;
}

export async function runSession(input: SessionInput): Promise<number> {
  const { io, settings, reporter } = input;
  const { createWorkDir } = await import('../system/work-dir.js');
  const { acquireRunLock, describeLockHolder } = await import('../system/run-lock.js');
  const report = emptyReport();
  const startedAt = new Date();
  const outcome = await runLifecycle({
    reporter,
    debug: input.debug,
    cleanupAsStep: true,
    work: async ({ cleanup, signal }) => {
      const workDir = createWorkDir(settings.values.VAUBAN_WORK_DIR ?? '/var/tmp', cleanup);
      // Runs in the same folder share its outputs and vault: one at a time.
      await acquireRunLock({
        cwd: io.cwd,
        command: input.command,
        cleanup,
        signal,
        onWait: (holder) => reporter.warn(`${describeLockHolder(holder)} works in this folder: waiting for it to end`),
      });
      // Registered now, so run after the renames of this run's conffs folders (last in, first out).
      const { pruneConffsFolders } = await import('../conffs/prune.js');
      const { CONFFS_DIR } = await import('../model/local-layout.js');
      const keep = Number(settings.values.CONFFS_KEEP ?? '5');
      cleanup.push('old conffs folders', async () => {
        for (const removed of pruneConffsFolders(path.join(io.cwd, CONFFS_DIR), keep)) reporter.debug(`removed the old conffs folder ${removed}`);
      });
      return input.work({ cleanup, report, signal, workDir });
    },
    // New sshd keys must not be lost with the CI job, whatever happened to the build.
    beforeCleanup: async () => {
      if (!settings.ci || report.newVaultEntries.length === 0) return;
      const { commitVault } = await import('../vault/commit.js');
      await reporter.step('vault: commit and push the new entries', () => commitVault(io.cwd, report.newVaultEntries, settings, { debug: (line) => reporter.debug(line) }));
    },
  });
  let { exitCode } = outcome;
  printRecap(reporter, report, exitCode === 0);
  if (input.onFinish !== undefined) {
    await input.onFinish({ ...outcome, report, startedAt, finishedAt: new Date() }).catch((error: unknown) => {
      reporter.error(`the --json result could not be written: ${failureLine(error)}`);
      exitCode = exitCode === 0 ? 1 : exitCode;
    });
  }
  return exitCode;
}
