// The tar streams on real GNU tar (no root): a consumer that attaches late —
// as an HTTP request that is still connecting does — gets the whole archive.
// execa resumes an unread stdout on the next turn of the event loop: before
// the stream was held, the first blocks were lost, and `docker import` made an
// image without /bin (or refused "invalid tar header") now and then.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeTar, createTarOf, createTarStream } from './tar.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vauban-tar-'));
  mkdirSync(path.join(dir, 'tree', 'bin'), { recursive: true });
  // Enough data that the archive spans many pipe reads: 40 files of 64 KiB.
  for (let index = 0; index < 40; index++) writeFileSync(path.join(dir, 'tree', 'bin', `file-${index}`), Buffer.alloc(65536, index));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The member names of an archive, as GNU tar lists it (fails on a damaged one). */
function members(archive: Buffer): string[] {
  return execFileSync('tar', ['-t'], { input: archive, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

describe('tar streams read by a late consumer', () => {
  it('createTarStream: every member, from the first block', async () => {
    const tar = await createTarStream(path.join(dir, 'tree'));
    await sleep(200);
    const [archive] = await Promise.all([collect(tar.stream), tar.done]);
    expect(members(archive)).toEqual(['./', './bin/', ...Array.from({ length: 40 }, (_, index) => `./bin/file-${index}`).sort()]);
  });

  it('createTarOf: every member, from the first block', async () => {
    const tar = await createTarOf(dir, ['tree']);
    await sleep(200);
    const [archive] = await Promise.all([collect(tar.stream), tar.done]);
    expect(members(archive)).toHaveLength(42);
    expect(members(archive)[0]).toBe('tree/');
  });
});

describe('a reader that fails', () => {
  it('consumeTar: tar is stopped and the reader\'s error is thrown (no tar left blocked on a full pipe)', async () => {
    const tar = await createTarStream(path.join(dir, 'tree'));
    const started = Date.now();
    await expect(consumeTar(tar, async (stream) => {
      // Reads one chunk, then gives up as an engine refusing the archive would.
      await new Promise((resolve) => stream.once('data', resolve));
      stream.pause();
      throw new Error('refused by the reader');
    })).rejects.toThrow('refused by the reader');
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(tar.done).rejects.toThrow();
  });
});
