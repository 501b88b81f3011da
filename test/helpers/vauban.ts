// Runs the real `vauban` (bin/vauban.js, built by the test setup) as a child
// process, in a given working directory, with a clean environment: only what
// the test passes, plus PATH. Its whole output is kept in a log file.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const BIN = fileURLToPath(new URL('../../bin/', import.meta.url));

export interface VaubanRun {
  exitCode: number;
  /** Standard output and error, as they came. */
  output: string;
  /** Standard output alone (the --json document). */
  stdout: string;
  log: string;
}

export async function runVauban(
  command: 'vauban' | 'vauban-ci' | 'vauban-version-control',
  args: string[],
  options: { cwd: string; env: Record<string, string>; log: string; onSpawn?: (pid: number) => void },
): Promise<VaubanRun> {
  appendFileSync(options.log, `\n$ ${command} ${args.join(' ')}\n`);
  const subprocess = execa(process.execPath, [path.join(BIN, `${command}.js`), ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...options.env },
    extendEnv: false,
    reject: false,
    all: true,
    stdin: 'ignore',
  });
  if (subprocess.pid !== undefined) options.onSpawn?.(subprocess.pid);
  const result = await subprocess;
  const output = String(result.all ?? '');
  appendFileSync(options.log, `${output}\n[exit ${result.exitCode}]\n`);
  return { exitCode: result.exitCode ?? -1, output, stdout: String(result.stdout ?? ''), log: options.log };
}

/** The tail of a run's output, for assertion messages. */
export function tail(run: VaubanRun, lines = 40): string {
  return run.output.split('\n').slice(-lines).join('\n');
}
