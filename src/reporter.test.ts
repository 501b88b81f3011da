import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Reporter, detectOutput } from './reporter.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let text = '';
  (stream as unknown as PassThrough).on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.isTTY = isTTY;
  (stream as { columns: number }).columns = isTTY ? 80 : 0;
  stream.text = () => text;
  return stream;
}

describe('output mode (B8)', () => {
  it('is plain in CI, in a pipe and with TERM=dumb; colour only on an interactive terminal without NO_COLOR', () => {
    expect(detectOutput({}, fakeStream(true))).toEqual({ mode: 'tty', color: true, sections: false });
    expect(detectOutput({ NO_COLOR: '' }, fakeStream(true))).toEqual({ mode: 'tty', color: false, sections: false });
    expect(detectOutput({ CI: 'true' }, fakeStream(true))).toEqual({ mode: 'plain', color: false, sections: false });
    expect(detectOutput({}, fakeStream(false))).toEqual({ mode: 'plain', color: false, sections: false });
    expect(detectOutput({ TERM: 'dumb' }, fakeStream(true))).toEqual({ mode: 'plain', color: false, sections: false });
    const unknownWidth = fakeStream(true);
    (unknownWidth as { columns: number }).columns = 0;
    expect(detectOutput({}, unknownWidth)).toEqual({ mode: 'plain', color: false, sections: false });
    // In a GitLab job: sections (issue 31).
    expect(detectOutput({ CI: 'true', GITLAB_CI: 'true' }, fakeStream(false))).toEqual({ mode: 'plain', color: false, sections: true });
  });

  it('in a GitLab job log, each step and each block is a section GitLab folds (issue 31)', async () => {
    const stream = fakeStream(false);
    const reporter = new Reporter({ mode: 'plain', color: false, debug: false, stream, sections: true });
    await reporter.step('apply_stages', async () => undefined);
    reporter.block('[KO] db01 (log: /x)', ['     failed task: Refuse db hosts']);
    const text = (stream as unknown as { text: () => string }).text();
    expect(text).toMatch(/^\u001b\[0Ksection_start:\d+:vauban_1\r\u001b\[0K\n\S+ ==> apply_stages\n\S+ <== apply_stages done in [\d.]+ s\n\u001b\[0Ksection_end:\d+:vauban_1\r\u001b\[0K\n/);
    expect(text).toMatch(/\u001b\[0Ksection_start:\d+:vauban_2\r\u001b\[0K\[KO\] db01 \(log: \/x\)\n\S+      failed task: Refuse db hosts\n\u001b\[0Ksection_end:\d+:vauban_2\r\u001b\[0K\n$/);
  });

  it('writes timestamped lines without escape sequences in plain mode, and times each step', async () => {
    const stream = fakeStream(false);
    const reporter = new Reporter({ mode: 'plain', color: false, debug: false, stream });
    await reporter.step('import_iso', async (handle) => {
      handle.update('50 %');
      reporter.info('inside');
    });
    const lines = stream.text().trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z /);
    expect(stream.text()).not.toMatch(/\x1b\[/);
    expect(lines[0]).toMatch(/==> import_iso$/);
    expect(lines.at(-1)).toMatch(/<== import_iso done in \d+\.\d s$/);
    expect(reporter.timings).toHaveLength(1);
    expect(reporter.timings[0]).toMatchObject({ title: 'import_iso', ok: true });
  });

  it('records a failed step and rethrows', async () => {
    const stream = fakeStream(false);
    const reporter = new Reporter({ mode: 'plain', color: false, debug: false, stream });
    await expect(reporter.step('build_rootfs', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(stream.text()).toMatch(/<== build_rootfs FAILED after/);
    expect(reporter.timings[0]?.ok).toBe(false);
  });

  it('never prints a secret', () => {
    const stream = fakeStream(false);
    const reporter = new Reporter({ mode: 'plain', color: false, debug: true, stream, redact: ['s3cr3t-pass'] });
    reporter.info('login with s3cr3t-pass');
    reporter.debug('$ echo s3cr3t-pass');
    expect(stream.text()).not.toContain('s3cr3t-pass');
    expect(stream.text()).toContain('login with ***');
  });

  it('prints debug lines only with --debug', () => {
    const stream = fakeStream(false);
    new Reporter({ mode: 'plain', color: false, debug: false, stream }).debug('hidden');
    expect(stream.text()).toBe('');
  });
});
