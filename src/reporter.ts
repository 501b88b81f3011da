// How vauban talks while it works. On a terminal: a spinner per step and
// colours. In CI, in a pipe or a log file: plain lines, each with a UTC
// timestamp, never an escape sequence. Steps only ever call `step()` and the
// log methods; they never import ora or chalk themselves.
import type { Ora } from 'ora';
import { redactSecrets } from './redact.js';

export type OutputMode = 'tty' | 'plain';

export interface ReporterOptions {
  mode: OutputMode;
  color: boolean;
  debug: boolean;
  /** Where lines go; stderr by default so that stdout stays for --json and data. */
  stream?: NodeJS.WriteStream;
  /** Strings that must never be printed (secrets); replaced by ***. */
  redact?: readonly string[];
  /** In a GitLab job log: each step and each failed host a collapsible section (section_start/section_end). */
  sections?: boolean;
}

export interface StepHandle {
  /** Replaces the step's live status text (spinner text, or a plain line). */
  update(text: string): void;
}

export interface StepTiming {
  title: string;
  seconds: number;
  ok: boolean;
}

type Painter = (text: string) => string;
interface Palette {
  red: Painter;
  yellow: Painter;
  green: Painter;
  dim: Painter;
  bold: Painter;
}

const plainPalette: Palette = { red: (t) => t, yellow: (t) => t, green: (t) => t, dim: (t) => t, bold: (t) => t };

/**
 * Picks the output mode for this process: plain in CI, when piped, with
 * TERM=dumb, or on a terminal of unknown width (a spinner redraws by lines of
 * the terminal's width: with a width of 0 it would never stop clearing).
 */
export function detectOutput(env: NodeJS.ProcessEnv, stream: NodeJS.WriteStream): { mode: OutputMode; color: boolean; sections: boolean } {
  const interactive = Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !env.CI && env.TERM !== 'dumb';
  const color = interactive && env.NO_COLOR === undefined && env.FORCE_COLOR !== '0';
  return { mode: interactive ? 'tty' : 'plain', color, sections: !interactive && env.GITLAB_CI === 'true' };
}

export class Reporter {
  readonly timings: StepTiming[] = [];
  private sectionCount = 0;
  private readonly stream: NodeJS.WriteStream;
  private palette: Palette = plainPalette;
  private spinner: Ora | undefined;
  private readonly secrets: string[];

  constructor(private readonly options: ReporterOptions) {
    this.stream = options.stream ?? process.stderr;
    this.secrets = [...(options.redact ?? [])];
  }

  /** Adds values (the settings' secrets, once loaded) that must never be printed. */
  redactAlso(values: readonly string[]): void {
    this.secrets.push(...values);
  }

  /** Loads the terminal libraries; only needed (and only paid for) in tty mode. */
  async init(): Promise<void> {
    if (!this.options.color) return;
    const { Chalk } = await import('chalk');
    const chalk = new Chalk({ level: 1 });
    this.palette = { red: chalk.red, yellow: chalk.yellow, green: chalk.green, dim: chalk.dim, bold: chalk.bold };
  }

  get mode(): OutputMode {
    return this.options.mode;
  }

  get paint(): Palette {
    return this.palette;
  }

  info(message: string): void {
    this.line(message);
  }

  warn(message: string): void {
    this.line(this.palette.yellow(`WARNING: ${message}`));
  }

  error(message: string): void {
    this.line(this.palette.red(`ERROR: ${message}`));
  }

  debug(message: string): void {
    if (this.options.debug) this.line(this.palette.dim(message));
  }

  /** Prints a line as is, above the spinner if one is running. */
  line(message: string): void {
    const text = this.redact(message);
    const spinning = this.spinner?.isSpinning === true;
    if (spinning) this.spinner?.clear();
    for (const one of text.split('\n')) {
      this.stream.write(this.options.mode === 'plain' ? `${timestamp()} ${one}\n` : `${one}\n`);
    }
    if (spinning) this.spinner?.render();
  }

  /** Runs one unit of work under a title, with a spinner or start/finish lines, and records its time. */
  async step<T>(title: string, work: (handle: StepHandle) => Promise<T>): Promise<T> {
    const started = performance.now();
    const section = this.openSection(title, false);
    const handle = await this.startStep(title);
    try {
      const result = await work(handle);
      this.finishStep(title, started, true);
      return result;
    } catch (error) {
      this.finishStep(title, started, false);
      throw error;
    } finally {
      section();
    }
  }

  /** `lines` under `title`: in a GitLab job log a section of its own, collapsed when asked; elsewhere plain lines. */
  block(title: string, lines: readonly string[], collapsed = false): void {
    const close = this.openSection(title, collapsed, true);
    if (!this.options.sections) this.line(title);
    for (const line of lines) this.line(line);
    close();
  }

  /**
   * Opens a GitLab section (https://docs.gitlab.com/ee/ci/jobs/#custom-collapsible-sections),
   * its header `title` when `withHeader`; returns what closes it. Nothing outside a GitLab job.
   */
  private openSection(title: string, collapsed: boolean, withHeader = false): () => void {
    if (!this.options.sections) return () => undefined;
    const id = `vauban_${++this.sectionCount}`;
    const now = () => Math.floor(Date.now() / 1000);
    const header = withHeader ? this.redact(title).replace(/[\r\n\u001b]/g, ' ') : '';
    this.stream.write(`\u001b[0Ksection_start:${now()}:${id}${collapsed ? '[collapsed=true]' : ''}\r\u001b[0K${header}\n`);
    return () => this.stream.write(`\u001b[0Ksection_end:${now()}:${id}\r\u001b[0K\n`);
  }

  private async startStep(title: string): Promise<StepHandle> {
    if (this.options.mode === 'tty' && this.spinner === undefined) {
      const { default: ora } = await import('ora');
      // discardStdin off: ora would read the terminal, and a vauban run in the
      // background of a shell (or under `timeout`) would be stopped by SIGTTIN.
      this.spinner = ora({ text: title, stream: this.stream, color: 'cyan', isEnabled: true, discardStdin: false }).start();
      const spinner = this.spinner;
      return { update: (text) => (spinner.text = this.redact(`${title}: ${text}`)) };
    }
    this.line(`==> ${title}`);
    let last = 0;
    return {
      // In plain mode a live status would flood the log: at most one line every 10 s.
      update: (text) => {
        const now = Date.now();
        if (now - last >= 10_000) {
          last = now;
          this.line(`    ${title}: ${text}`);
        }
      },
    };
  }

  private finishStep(title: string, started: number, ok: boolean): void {
    const seconds = (performance.now() - started) / 1000;
    this.timings.push({ title, seconds, ok });
    const took = `${formatSeconds(seconds)}`;
    if (this.spinner !== undefined) {
      const spinner = this.spinner;
      this.spinner = undefined;
      if (ok) spinner.succeed(`${title} ${this.palette.dim(`(${took})`)}`);
      else spinner.fail(`${title} ${this.palette.dim(`(failed after ${took})`)}`);
      return;
    }
    this.line(ok ? `<== ${title} done in ${took}` : `<== ${title} FAILED after ${took}`);
  }

  private redact(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
