// The artifacts side of the cache (issue 12): beside each artifact vauban
// writes (rootfs.tgz, vmlinuz, initramfs.img), a small JSON record of the
// inputs it was made from and the sha256 of the file as written. The artifact
// is reused only when its inputs are unchanged and the file still has that
// sha256: a file changed on disk is rebuilt, never served.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { sha256File } from '../system/sha256-file.js';
import { decideCache, type CacheDecision, type CachePolicy } from './decide.js';
import { inputsDigest, type InputParts } from './inputs.js';

export interface ArtifactRecord {
  inputs: string;
  parts: InputParts;
  /** sha256 of the file, hex. */
  sha256: string;
  built: string;
  /** What else the step returns and cannot be read back cheaply (the kernel version of a rootfs). */
  facts: Record<string, string>;
}

/** Where the record of `file` lives. */
export function recordFileOf(file: string): string {
  return `${file}.inputs.json`;
}

export function readArtifactRecord(file: string): ArtifactRecord | undefined {
  const recordFile = recordFileOf(file);
  if (!existsSync(recordFile)) return undefined;
  try {
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as Partial<ArtifactRecord>;
    if (typeof record.inputs !== 'string' || typeof record.sha256 !== 'string' || typeof record.built !== 'string') return undefined;
    return { inputs: record.inputs, parts: record.parts ?? {}, sha256: record.sha256, built: record.built, facts: record.facts ?? {} };
  } catch {
    // A record that does not parse is no record: the artifact is rebuilt.
    return undefined;
  }
}

/** Writes the record of `file` as it is now (its sha256 read from disk); returns the sha256. */
export async function writeArtifactRecord(file: string, parts: InputParts, facts: Record<string, string> = {}): Promise<string> {
  const sha256 = await sha256File(file);
  const record: ArtifactRecord = { inputs: inputsDigest(parts), parts, sha256, built: new Date().toISOString(), facts };
  const target = recordFileOf(file);
  const temporary = `${target}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, target);
  return sha256;
}

/** Drops the record of `file` (before the file is rewritten: a record never describes a half-made file). */
export function dropArtifactRecord(file: string): void {
  rmSync(recordFileOf(file), { force: true });
}

export interface ArtifactDecision extends CacheDecision {
  record: ArtifactRecord | undefined;
}

/** Reuse or build the artifact `file` whose inputs are `parts`. */
export async function decideArtifact(file: string, parts: InputParts, policy: CachePolicy): Promise<ArtifactDecision> {
  const record = readArtifactRecord(file);
  const digest = inputsDigest(parts);
  const same = record !== undefined && record.inputs === digest;
  let invalid: string | undefined;
  if (same && !policy.noCache) {
    if (!existsSync(file)) invalid = `${file.split('/').pop() ?? file} is gone`;
    else if ((await sha256File(file)) !== record.sha256) invalid = `${file.split('/').pop() ?? file} on disk does not match its recorded sha256`;
  }
  const found = same ? { id: file, built: new Date(record.built) } : undefined;
  const decision = decideCache({
    policy,
    parts,
    found,
    previous: record === undefined ? undefined : { parts: record.parts },
    parentRebuilt: false,
    invalid,
  });
  // No record, no artifact: say it plainly.
  if (decision.action === 'build' && record === undefined && !policy.noCache) return { action: 'build', reason: 'no earlier build recorded', record };
  return { ...decision, record };
}
