// Runs vauban-ci's invocations one after the other, output straight through;
// the first failure stops the chain with its exit status. With --json, each
// vauban runs with --json too: its document is collected from its stdout, and
// vauban-ci prints one document for the chain at the end.
import { installDir } from '../install-dir.js';
import { documentHeader } from './version.js';
import { spawn } from 'node:child_process';
import type { CommandIo } from './io.js';
import { shellJoin } from '../system/shell-quote.js';
import type { Invocation } from '../ci/plan-invocations.js';

export interface RunInvocationsOptions {
  vaubanBin: string;
  io: CommandIo;
  json: boolean;
}

/** One invocation in vauban-ci's --json document. */
export interface InvocationResult {
  master: string;
  kind: Invocation['kind'];
  command: string;
  /** null when the chain stopped before it. */
  exit_code: number | null;
  /** vauban's own --json document of this run. */
  run: unknown;
  /** After a rootfs build: the image's /imginfo. */
  imginfo: string | null;
}

/** vauban-ci's --json document: the chain planned, what each invocation did, how it ended. */
export function chainDocument(results: readonly InvocationResult[], exitCode: number, reason: string): string {
  return `${JSON.stringify({ ...documentHeader(installDir()), invocations: results, result: { ok: exitCode === 0, exit_code: exitCode, exit_reason: reason } }, null, 2)}\n`;
}

export function plannedResults(invocations: readonly Invocation[]): InvocationResult[] {
  return invocations.map((invocation) => ({
    master: invocation.master,
    kind: invocation.kind,
    command: shellJoin(['vauban', ...invocation.args]),
    exit_code: null,
    run: null,
    imginfo: null,
  }));
}

export async function runInvocations(invocations: readonly Invocation[], { vaubanBin, io, json }: RunInvocationsOptions): Promise<number> {
  const results = plannedResults(invocations);
  let exitCode = 0;
  let reason = 'success';
  for (const [index, invocation] of invocations.entries()) {
    const result = results[index] as InvocationResult;
    io.stderr.write(`[vauban-ci] (${index + 1}/${invocations.length}) ${invocation.kind} of ${invocation.master}: ${result.command}\n`);
    // `vauban promote` prints no JSON document: its recap is in the job log.
    const withJson = json && invocation.kind !== 'promote';
    const { code, stdout } = await runVauban(vaubanBin, withJson ? [...invocation.args, '--json'] : invocation.args, io, json);
    // Its human lines stay out of the chain's document on stdout.
    if (json && !withJson) io.stderr.write(stdout);
    result.exit_code = code;
    if (withJson) result.run = parseDocument(stdout);
    if (code !== 0) {
      io.stderr.write(`[vauban-ci] ${invocation.kind} of ${invocation.master} failed (exit status ${code}); stopping\n`);
      exitCode = code;
      reason = `${invocation.kind} of ${invocation.master} failed (exit status ${code})`;
      break;
    }
    if (invocation.kind === 'rootfs') {
      const imginfo = await readImginfo(invocation.master, io);
      if (json) result.imginfo = imginfo ?? null;
      // What ci.py printed after a rootfs build; on stderr when stdout is the JSON document.
      else if (imginfo !== undefined) io.stdout.write(`[vauban-ci] ${invocation.master} was built. /imginfo:\n${imginfo}\n`);
    }
  }
  if (json) io.stdout.write(chainDocument(results, exitCode, reason));
  return exitCode;
}

function parseDocument(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function runVauban(vaubanBin: string, args: string[], io: CommandIo, captureStdout: boolean): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    // The one child that gets the whole environment: vauban itself reads its settings there.
    const child = spawn(process.execPath, [vaubanBin, ...args], { cwd: io.cwd, env: io.env, stdio: ['inherit', captureStdout ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    // A signal sent to vauban-ci alone (a CI runner cancelling the job) reaches vauban, which cleans up; vauban-ci waits for it.
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const signal of signals) process.on(signal, forward);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      for (const one of signals) process.off(one, forward);
      resolve({ code: status ?? (signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143), stdout });
    });
  });
}

/** After a rootfs build, what ci.py printed: the built image's /imginfo. */
async function readImginfo(image: string, io: CommandIo): Promise<string | undefined> {
  try {
    const { createDockerClient } = await import('../system/docker/client.js');
    const { readFileFromImage } = await import('../system/docker/containers.js');
    return (await readFileFromImage(await createDockerClient(), image, '/imginfo')).toString('utf8');
  } catch (error) {
    io.stderr.write(`[vauban-ci] cannot read /imginfo of ${image}: ${(error as Error).message}\n`);
    return undefined;
  }
}
