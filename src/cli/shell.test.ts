// The one shell of every command, with a made-up command: parse, failure
// printing, the --json failure document, exit status, and what the work runs in.
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { VaubanError } from '../errors.js';
import type { CommandIo } from './io.js';
import { commanderParse, runCommand, type CommandDefinition, type Needs } from './shell.js';

function capture(): NodeJS.WriteStream & { text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let text = '';
  (stream as unknown as PassThrough).on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.text = () => text;
  return stream;
}

interface Flags {
  json: boolean;
  fail?: string;
}

function command<N extends Needs>(needs: N, work: CommandDefinition<Flags, void, N, false>['work']): CommandDefinition<Flags, void, N, false> {
  return {
    name: 'made-up',
    parse: commanderParse(() => new Command('made-up').option('--json', 'json', false).option('--fail <why>', 'fail'), (program) => program.opts<Flags>()),
    debug: () => false,
    json: (flags) => flags.json,
    failureDocument: (flags, exitCode, reason) => `${JSON.stringify({ flags: flags ?? null, exitCode, reason })}\n`,
    settings: false,
    plainOutput: true,
    needs,
    work,
  };
}

async function run<N extends Needs>(definition: CommandDefinition<Flags, void, N, false>, argv: string[]) {
  const io: CommandIo = { argv, env: {}, cwd: '/', stdout: capture(), stderr: capture() };
  const code = await runCommand(definition, io);
  return { code, out: (io.stdout as ReturnType<typeof capture>).text(), err: (io.stderr as ReturnType<typeof capture>).text() };
}

describe('the command shell (issue 26)', () => {
  it('a failure is printed once, with its exit status, and as the --json document when asked', async () => {
    const failing = command('nothing', async ({ flags }) => {
      throw new VaubanError(`it failed: ${flags.fail ?? ''}`, { hint: 'try again', exitCode: 2 });
    });
    const plain = await run(failing, ['--fail', 'disk']);
    expect(plain).toEqual({ code: 2, out: '', err: 'error: it failed: disk\nhint: try again\n' });
    const json = await run(failing, ['--fail', 'disk', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toEqual({ flags: { json: true, fail: 'disk' }, exitCode: 2, reason: 'it failed: disk' });
  });

  it('a refused command line ends with commander\'s status, and answers --json with a document that has no flags', async () => {
    const never = command('nothing', async () => {
      throw new Error('not reached');
    });
    const refused = await run(never, ['--json', '--bogus']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("error: unknown option '--bogus'");
    expect(JSON.parse(refused.out)).toEqual({ flags: null, exitCode: 1, reason: "unknown option '--bogus'" });
    expect((await run(never, ['-h'])).code).toBe(0);
  });

  it('a lifecycle unwinds what the work registered, whatever happened; signals give the work an abort signal', async () => {
    const unwound: string[] = [];
    const life = command('lifecycle', async (_call, _prepared, { cleanup }) => {
      cleanup.push('a resource', async () => {
        unwound.push('a resource');
      });
      throw new VaubanError('after acquiring');
    });
    const result = await run(life, []);
    expect(result.code).toBe(1);
    expect(unwound).toEqual(['a resource']);
    let signalled: AbortSignal | undefined;
    expect((await run(command('signals', async (_call, _prepared, { signal }) => ((signalled = signal), 0)), [])).code).toBe(0);
    expect(signalled?.aborted).toBe(false);
  });
});
