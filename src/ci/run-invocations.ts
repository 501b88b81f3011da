// Runs vauban-ci's invocations one after the other, output straight through;
// the first failure stops the chain with its exit status.
import { spawn } from 'node:child_process';
import type { MainIo } from '../cli/vauban.js';
import { shellJoin } from '../shell-quote.js';
import type { Invocation } from './plan-invocations.js';

export interface RunInvocationsOptions {
  vaubanBin: string;
  io: MainIo;
}

export async function runInvocations(invocations: readonly Invocation[], { vaubanBin, io }: RunInvocationsOptions): Promise<number> {
  for (const [index, invocation] of invocations.entries()) {
    io.stderr.write(`[vauban-ci] (${index + 1}/${invocations.length}) ${invocation.kind} of ${invocation.master}: ${shellJoin(['vauban', ...invocation.args])}\n`);
    const code = await new Promise<number>((resolve, reject) => {
      // The one child that gets the whole environment: vauban itself reads its settings there.
      const child = spawn(process.execPath, [vaubanBin, ...invocation.args], { cwd: io.cwd, env: io.env, stdio: 'inherit' });
      // A signal sent to vauban-ci alone (a CI runner cancelling the job) reaches vauban, which cleans up; vauban-ci waits for it.
      const forward = (signal: NodeJS.Signals): void => {
        child.kill(signal);
      };
      const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      for (const signal of signals) process.on(signal, forward);
      child.on('error', reject);
      child.on('exit', (status, signal) => {
        for (const one of signals) process.off(one, forward);
        resolve(status ?? (signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143));
      });
    });
    if (code !== 0) {
      io.stderr.write(`[vauban-ci] ${invocation.kind} of ${invocation.master} failed (exit status ${code}); stopping\n`);
      return code;
    }
    if (invocation.kind === 'rootfs') await printImginfo(invocation.master, io);
  }
  return 0;
}

/** After a rootfs build, what ci.py printed: the built image's /imginfo. */
async function printImginfo(image: string, io: MainIo): Promise<void> {
  try {
    const { createDockerClient } = await import('../system/docker/client.js');
    const { readFileFromImage } = await import('../system/docker/containers.js');
    const imginfo = await readFileFromImage(await createDockerClient(), image, '/imginfo');
    io.stdout.write(`[vauban-ci] ${image} was built. /imginfo:\n${imginfo.toString('utf8')}\n`);
  } catch (error) {
    io.stderr.write(`[vauban-ci] cannot read /imginfo of ${image}: ${(error as Error).message}\n`);
  }
}
