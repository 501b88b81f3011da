import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decideArtifact, recordFileOf, writeArtifactRecord } from './artifact-record.js';
import type { CachePolicy } from './decide.js';

const policy = (): CachePolicy => ({ noCache: false, maxAgeDays: 7, now: new Date(Date.now() + 1000) });
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('artifact records', () => {
  it('reuse the file while its inputs and its sha256 are unchanged; rebuild it when it was changed on disk', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vauban-record-'));
    const file = path.join(dir, 'rootfs.tgz');
    writeFileSync(file, 'squashfs');
    expect((await decideArtifact(file, { image: 'sha256:1' }, policy())).reason).toBe('no earlier build recorded');
    await writeArtifactRecord(file, { image: 'sha256:1' }, { kernelVersion: '6.1.0' });
    const reused = await decideArtifact(file, { image: 'sha256:1' }, policy());
    expect(reused.action).toBe('reuse');
    expect(reused.record?.facts.kernelVersion).toBe('6.1.0');
    expect((await decideArtifact(file, { image: 'sha256:2' }, policy())).reason).toBe('image changed 1 → 2');
    appendFileSync(file, 'tampered');
    expect(await decideArtifact(file, { image: 'sha256:1' }, policy())).toMatchObject({ action: 'build', reason: 'rootfs.tgz on disk does not match its recorded sha256' });
    rmSync(file);
    expect((await decideArtifact(file, { image: 'sha256:1' }, policy())).reason).toBe('rootfs.tgz is gone');
    writeFileSync(recordFileOf(file), '{not json');
    expect((await decideArtifact(file, { image: 'sha256:1' }, policy())).reason).toBe('no earlier build recorded');
  });
});
