import { appendFileSync, closeSync, mkdtempSync, openSync, writeSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decideArtifact, keepArtifact, recordFileOf, restoreArtifact, writeArtifactRecord } from './artifact-record.js';
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
    // Same size, other bytes, written in place: the file's identity changed, it is read again.
    writeFileSync(file, 'squashfs');
    await writeArtifactRecord(file, { image: 'sha256:1' });
    expect(JSON.parse(readFileSync(recordFileOf(file), 'utf8')).hashed).toMatch(/^\d+:\d+:8:\d+$/);
    const handle = openSync(file, 'r+');
    writeSync(handle, 'SQUASHFS', 0);
    closeSync(handle);
    expect((await decideArtifact(file, { image: 'sha256:1' }, policy())).reason).toBe('rootfs.tgz on disk does not match its recorded sha256');
    rmSync(file);
    expect((await decideArtifact(file, { image: 'sha256:1' }, policy())).reason).toBe('rootfs.tgz is gone');
    writeFileSync(recordFileOf(file), '{not json');
    expect((await decideArtifact(file, { image: 'sha256:1' }, policy())).reason).toBe('no earlier build recorded');
  });

  it("a master's kept copy is reused when the folder's file is another master's, restored by links, and never when it was changed", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vauban-record-'));
    const file = path.join(dir, 'rootfs.tgz');
    const keptA = path.join(dir, '.vauban/kept/master-a/rootfs.tgz');
    writeFileSync(`${file}.new`, 'rootfs of a');
    renameSync(`${file}.new`, file);
    await writeArtifactRecord(file, { image: 'sha256:a' });
    keepArtifact(file, keptA);
    expect(statSync(keptA).ino).toBe(statSync(file).ino);
    expect(statSync(path.dirname(keptA)).mode & 0o777).toBe(0o700);
    // Master b writes its own rootfs.tgz as the steps do: a new file renamed over the name.
    writeFileSync(`${file}.new`, 'rootfs of b');
    renameSync(`${file}.new`, file);
    await writeArtifactRecord(file, { image: 'sha256:b' });
    expect(readFileSync(keptA, 'utf8')).toBe('rootfs of a');

    const decision = await decideArtifact(file, { image: 'sha256:a' }, policy(), keptA);
    expect(decision).toMatchObject({ action: 'reuse', restoreFrom: keptA });
    expect(decision.reason).toMatch(/^inputs unchanged \(built .*\), kept for this master$/);
    restoreArtifact(keptA, file);
    expect(readFileSync(file, 'utf8')).toBe('rootfs of a');
    expect((await decideArtifact(file, { image: 'sha256:a' }, policy(), keptA)).restoreFrom).toBeUndefined();
    // --no-cache, another input, or a kept copy changed on disk: built.
    expect((await decideArtifact(file, { image: 'sha256:a' }, { ...policy(), noCache: true }, keptA)).action).toBe('build');
    expect((await decideArtifact(file, { image: 'sha256:c' }, policy(), keptA)).reason).toBe('image changed a → c');
    writeFileSync(`${file}.new`, 'rootfs of b');
    renameSync(`${file}.new`, file);
    await writeArtifactRecord(file, { image: 'sha256:b' });
    appendFileSync(keptA, 'tampered');
    expect((await decideArtifact(file, { image: 'sha256:a' }, policy(), keptA)).reason).toBe('image changed b → a');
  });
});
