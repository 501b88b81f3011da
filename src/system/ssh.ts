// ssh to the PXE servers. Plain `ssh`, so the operator's ~/.ssh/config
// applies; in CI, the user and the key come from the settings (the key is
// written to a private file: its content is never an argument).
import { shellQuote } from './shell-quote.js';
import { run, type RunOptions, type RunResult } from './run.js';

export interface SshTarget {
  /** An ssh destination: host, user@host, or ssh://user@host:port. */
  destination: string;
  /** Extra ssh options (-i, -o ...). */
  options: string[];
}

/** Runs a remote shell command (a single string, quoted by the caller). */
export function sshRun(target: SshTarget, command: string, runOptions: RunOptions = {}): Promise<RunResult> {
  // `--`: the destination is never read as an option, whatever it is.
  return run('ssh', ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', ...target.options, '--', target.destination, command], runOptions);
}

/** Quotes words for the remote shell and joins them. */
export function remoteCommand(...words: string[]): string {
  return words.map(shellQuote).join(' ');
}
