// Runs a program in a mount namespace of its own where every file system of
// the build host is read-only except the folders given (and /proc, /sys,
// /dev, /run, which hold no files of the host): any write or deletion
// elsewhere fails with EROFS. Proves that a run changes nothing outside its
// work folder, its output folder and the image trees.
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const SCRIPT = fileURLToPath(new URL('./confine.sh', import.meta.url));

export interface ConfinedRun {
  exitCode: number;
  output: string;
}

export async function runConfined(
  command: string[],
  options: { cwd: string; env: Record<string, string>; writable: string[]; log: string; onSpawn?: (pid: number) => void },
): Promise<ConfinedRun> {
  appendFileSync(options.log, `\n$ (confined to ${options.writable.join(' ')}) ${command.join(' ')}\n`);
  const subprocess = execa('bash', [SCRIPT, ...options.writable, '--', ...command], {
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
  return { exitCode: result.exitCode ?? -1, output };
}
