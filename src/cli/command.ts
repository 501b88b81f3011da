// What every vauban command does the same way: parse its flags with commander
// (help and usage errors printed on the command's own streams), set up its
// output, and turn SIGINT/SIGTERM/SIGHUP into an abort of the work under way.
import { CommanderError, Option, type Command } from 'commander';
import { VaubanError } from '../errors.js';
import type { Reporter } from '../reporter.js';
import { installDir } from '../install-dir.js';
import type { CommandIo } from './io.js';
import { versionText } from './version.js';

/** Parses `io.argv`; returns an exit status when commander ended the command (-h, a usage error). `said` hears what commander printed on stderr. */
export function parseCommand(program: Command, io: CommandIo, said?: (text: string) => void): number | undefined {
  addVersionOption(program, installDir, (text) => io.stdout.write(text))
    .helpOption('-h, --help', 'prints help')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => {
        said?.(text);
        io.stderr.write(text);
      },
    });
  try {
    program.parse([...io.argv], { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}

/** The reporter of a command: spinners on a terminal, timestamped lines elsewhere. */
export async function createReporter(io: CommandIo, debug: boolean): Promise<Reporter> {
  const { Reporter, detectOutput } = await import('../reporter.js');
  const reporter = new Reporter({ ...detectOutput(io.env, io.stderr), debug, stream: io.stderr });
  await reporter.init();
  return reporter;
}

export interface Interruption {
  signal: AbortSignal;
  /** The signal that interrupted the command, if one did. */
  received: () => NodeJS.Signals | undefined;
  /** Stops listening (at the very end, after the cleanup). */
  dispose: () => void;
}

/** The exit status of a command interrupted by `signal`: 128 + its number, as a shell reports it. */
export function interruptedExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143;
}

/**
 * The first SIGINT, SIGTERM or SIGHUP (a dropped ssh session) aborts the work
 * (exit 130, 143, 129); later ones only say that cleanup goes on.
 */
export function watchInterruptions(reporter: Reporter): Interruption {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received === undefined) {
      received = signal;
      reporter.warn(`${signal} received: stopping and cleaning up`);
      controller.abort(new VaubanError(`interrupted by ${signal}`, { exitCode: interruptedExitCode(signal) }));
    } else {
      reporter.warn('still cleaning up, please wait');
    }
  };
  // After a hangup the terminal is gone and writing to it fails (EIO, EPIPE):
  // the cleanup must go on regardless, not die on an unhandled stream error.
  const ignore = (): void => undefined;
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  process.stdout.on('error', ignore);
  process.stderr.on('error', ignore);
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      for (const signal of signals) process.off(signal, onSignal);
      process.stdout.off('error', ignore);
      process.stderr.off('error', ignore);
    },
  };
}

/**
 * `--version` on `program`, as commander's own but read only when asked: the
 * package.json and .git/HEAD reads stay off every other start (`vauban -h`
 * included). It ends the parse as commander's does (exit 0, `commander.version`).
 */
export function addVersionOption(program: Command, findInstallDir: () => string, write: (text: string) => void): Command {
  return program.addOption(new Option('--version', 'prints the version')).on('option:version', () => {
    const text = versionText(findInstallDir());
    write(`${text}\n`);
    throw new CommanderError(0, 'commander.version', text);
  });
}
