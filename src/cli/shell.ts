// The one shell of every command (vauban, its subcommands, vauban-ci,
// vauban-version-control): a command is defined by how it reads its command
// line, what its work needs around it, and its work; the shell parses, makes
// the reporter, loads the settings (their secrets redacted from then on),
// runs the work inside what it needs, prints a failure once (and its --json
// document), and returns the exit status.
import type { Command } from 'commander';
import type { LoadedSettings } from '../config/settings.js';
import type { Reporter } from '../reporter.js';
import { createReporter, parseCommand, watchInterruptions } from './command.js';
import { describeFailure } from './fail.js';
import type { CommandIo } from './io.js';
import type { Lifecycle } from './lifecycle.js';
import type { Session, SessionOutcome } from './session.js';

/** What a command line gave: the flags, or the exit status it ended with (-h, --version, a usage error). */
export type Parsed<Flags> = { kind: 'run'; flags: Flags; warnings?: string[] } | { kind: 'exit'; code: number; said?: string };

/** What the work runs inside: nothing; Ctrl-C as an abort signal; a lifecycle (cleanup stack, umask, signals); a session (a lifecycle, plus the work folder, the folder's lock, the recap). */
export interface Surroundings {
  nothing: undefined;
  signals: { signal: AbortSignal };
  lifecycle: Lifecycle;
  session: Session;
}
export type Needs = keyof Surroundings;

/** What the work of a command is handed; `settings` when the command asks for them. */
export interface Call<Flags, S extends boolean = boolean> {
  io: CommandIo;
  flags: Flags;
  reporter: Reporter;
  settings: S extends true ? LoadedSettings : undefined;
}

export interface CommandDefinition<Flags, Prepared, N extends Needs, S extends boolean = boolean> {
  /** The command as a user types it: named in the folder's lock file while a session waits. */
  name: string;
  parse: (io: CommandIo) => Parsed<Flags>;
  debug: (flags: Flags) => boolean;
  /** True when the command answers with a JSON document on stdout (--json): a failure is one too. */
  json?: (flags: Flags) => boolean;
  /** The --json document of a failure (or of a usage error, with flags undefined). */
  failureDocument?: (flags: Flags | undefined, exitCode: number, reason: string) => string | Promise<string>;
  /** Load the settings (config, environment, .secrets.env) before the work. */
  settings: S;
  /** Commands that only print (vauban-ci, completion): a plain reporter, without the terminal's spinners and colours to load. */
  plainOutput?: boolean;
  /** Checks and answers made before anything is acquired (a dry run): a number ends the command with that status. */
  prepare?: (call: Call<Flags, S>) => Promise<Prepared | number>;
  needs: N;
  work: (call: Call<Flags, S>, prepared: Prepared, around: Surroundings[N]) => Promise<number>;
  /** A session's last words, after its recap (the --json result). */
  onFinish?: (call: Call<Flags, S>, prepared: Prepared, outcome: SessionOutcome) => Promise<void>;
}

/** A command read by commander: its program, and its flags and arguments once parsed. */
export function commanderParse<Flags>(program: () => Command, read: (program: Command) => Flags): (io: CommandIo) => Parsed<Flags> {
  return (io) => {
    const command = program();
    let said = '';
    const ended = parseCommand(command, io, (text) => {
      said += text;
    });
    return ended === undefined ? { kind: 'run', flags: read(command) } : { kind: 'exit', code: ended, said };
  };
}

/** Why a command line was refused, from what commander said. */
function usageReason(said: string): string {
  return /^error: (.*)$/m.exec(said)?.[1] ?? (said.trim().split('\n')[0] || 'usage error');
}

/** The first line of a failure's text, without its `error: `: the reason a --json document gives. */
function reasonOf(text: string): string {
  return text.split('\n')[0]?.replace(/^error: /, '') ?? '';
}

export async function runCommand<Flags, Prepared, N extends Needs, S extends boolean>(definition: CommandDefinition<Flags, Prepared, N, S>, io: CommandIo): Promise<number> {
  const parsed = definition.parse(io);
  if (parsed.kind === 'exit') {
    // --json answers a usage error too: a script reads why from stdout, as for any other failure (issue 31).
    if (parsed.code !== 0 && definition.failureDocument !== undefined && io.argv.includes('--json')) {
      io.stdout.write(await definition.failureDocument(undefined, parsed.code, usageReason(parsed.said ?? '')));
    }
    return parsed.code;
  }
  const { flags } = parsed;
  const debug = definition.debug(flags);
  // Loaded only when there is work to do: `vauban -h` stays fast.
  const reporter = definition.plainOutput ? await plainReporter(io, debug) : await createReporter(io, debug);
  for (const warning of parsed.warnings ?? []) reporter.warn(warning);
  try {
    let settings: LoadedSettings | undefined;
    if (definition.settings) {
      const { loadSettings } = await import('../config/settings.js');
      settings = await loadSettings({ env: io.env, cwd: io.cwd });
      reporter.redactAlso(settings.secrets);
    }
    // `settings` is there exactly when S is true.
    const call = { io, flags, reporter, settings } as Call<Flags, S>;
    const prepared = definition.prepare === undefined ? (undefined as Prepared) : await definition.prepare(call);
    if (typeof prepared === 'number') return prepared;
    return await runInside(definition, call, prepared);
  } catch (error) {
    const failure = describeFailure(error, debug);
    io.stderr.write(`${failure.text}\n`);
    if (definition.failureDocument !== undefined && definition.json?.(flags) === true) {
      io.stdout.write(await definition.failureDocument(flags, failure.exitCode, reasonOf(failure.text)));
    }
    return failure.exitCode;
  }
}

async function runInside<Flags, Prepared, N extends Needs, S extends boolean>(definition: CommandDefinition<Flags, Prepared, N, S>, call: Call<Flags, S>, prepared: Prepared): Promise<number> {
  const { reporter } = call;
  const debug = definition.debug(call.flags);
  // Each branch hands the work what `needs` names; TypeScript cannot follow N through a switch.
  const work = definition.work as (call: Call<Flags, S>, prepared: Prepared, around: Surroundings[Needs]) => Promise<number>;
  switch (definition.needs) {
    case 'nothing':
      return work(call, prepared, undefined);
    case 'signals': {
      const interruption = watchInterruptions(reporter);
      try {
        return await work(call, prepared, { signal: interruption.signal });
      } finally {
        interruption.dispose();
      }
    }
    case 'lifecycle': {
      const { runLifecycle } = await import('./lifecycle.js');
      return (await runLifecycle({ reporter, debug, work: (life) => work(call, prepared, life) })).exitCode;
    }
    case 'session': {
      const settings: LoadedSettings | undefined = call.settings;
      if (settings === undefined) throw new Error(`${definition.name}: a session needs the settings`);
      const { runSession } = await import('./session.js');
      const onFinish = definition.onFinish;
      return runSession({
        io: call.io,
        settings,
        reporter,
        debug,
        command: [definition.name, ...call.io.argv].join(' '),
        work: (session) => work(call, prepared, session),
        onFinish: onFinish === undefined ? undefined : (outcome) => onFinish(call, prepared, outcome),
      });
    }
  }
  throw new Error(`${definition.name}: unknown needs ${String(definition.needs)}`);
}

/** A reporter of plain lines on stderr, set up without loading the terminal's spinners and colours. */
async function plainReporter(io: CommandIo, debug: boolean): Promise<Reporter> {
  const { Reporter } = await import('../reporter.js');
  return new Reporter({ mode: 'plain', color: false, debug, stream: io.stderr });
}
