// The one object every step receives: the run's options, settings, plan,
// output, cleanup stack and where things go. Derived paths are getters; there
// is no module-level state anywhere else.
import path from 'node:path';
import type { LoadedSettings } from './config/settings.js';
import type { VaubanOptions, Compression } from './options.js';
import type { Plan, StepId } from './plan.js';
import type { Reporter } from './reporter.js';
import type { RunReport } from './run-report.js';
import type { CleanupStack } from './system/cleanup.js';

export interface ContextInit {
  options: VaubanOptions;
  settings: LoadedSettings;
  plan: Plan;
  reporter: Reporter;
  cleanup: CleanupStack;
  report: RunReport;
  signal: AbortSignal;
  /** The working directory: config, vault/, .secrets.env and the outputs live here (as with vauban.sh). */
  cwd: string;
  /** Where this project is installed: Dockerfile.base, Dockerfile.stages, modules.d/, dracut.conf. */
  installDir: string;
  startedAt?: Date;
}

export class Context {
  readonly options: VaubanOptions;
  readonly settings: LoadedSettings;
  readonly plan: Plan;
  readonly reporter: Reporter;
  readonly cleanup: CleanupStack;
  readonly report: RunReport;
  readonly signal: AbortSignal;
  readonly cwd: string;
  readonly installDir: string;
  readonly startedAt: Date;

  constructor(init: ContextInit) {
    this.options = init.options;
    this.settings = init.settings;
    this.plan = init.plan;
    this.reporter = init.reporter;
    this.cleanup = init.cleanup;
    this.report = init.report;
    this.signal = init.signal;
    this.cwd = init.cwd;
    this.installDir = init.installDir;
    this.startedAt = init.startedAt ?? new Date();
  }

  /** True when the plan has this step. */
  runs(step: StepId): boolean {
    return this.plan.steps.some((planned) => planned.id === step);
  }

  get outputDir(): string {
    return this.cwd;
  }

  get vaultDir(): string {
    return path.join(this.cwd, 'vault');
  }

  get overlayfsDir(): string {
    return path.join(this.cwd, 'overlayfs');
  }

  /** Per-host conffs logs (A7). */
  get logDir(): string {
    return '/tmp/vauban-logs';
  }

  /** ISO 8601 time of the run's start, safe in file names. */
  get runStamp(): string {
    return this.startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  get compression(): Compression {
    return this.options.compression ?? this.settings.values.SQUASHFS_COMPRESSION ?? 'xz';
  }

  get conffsParallel(): number {
    return this.options.conffsParallel ?? Number(this.settings.values.CONFFS_PARALLEL ?? '20');
  }

  /** Passes a command's debug line to the reporter. */
  readonly debug = (message: string): void => this.reporter.debug(message);
}
