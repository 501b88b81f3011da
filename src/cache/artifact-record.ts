// The artifacts side of the cache (issue 12): beside each artifact vauban
// writes (rootfs.tgz, vmlinuz, initramfs.img), a small JSON record of the
// inputs it was made from and the sha256 of the file as written. The artifact
// is reused only when its inputs are unchanged and the file still has that
// sha256: a file changed on disk is rebuilt, never served.
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
  /** The file's identity when its sha256 was last computed (fileIdentity). */
  hashed?: string;
}

/**
 * Device, inode, size and modification time to the nanosecond: any write,
 * truncation or replacement of the file changes one of them. While they are
 * those recorded when the sha256 was computed, the file is taken to still
 * have that sha256, as git's index and rsync's quick check do: a reused
 * 300 MB rootfs.tgz is not read again on every run. (Not the change time:
 * every hard link made to the file, as a master's kept copy, changes it.)
 */
function fileIdentity(file: string): string {
  const stat = statSync(file, { bigint: true });
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`;
}

/**
 * The identity to record before hashing. The kernel stamps writes with a
 * coarse clock (a tick of a few ms): a write in the same tick as the last one
 * would leave the modification time as it was. Taken once the file is 50 ms
 * old, any later write shows.
 */
async function settledIdentity(file: string): Promise<string> {
  const age = Date.now() - Number(statSync(file, { bigint: true }).mtimeNs / 1_000_000n);
  if (age < 50) await new Promise((resolve) => setTimeout(resolve, 50 - Math.max(age, 0)));
  return fileIdentity(file);
}

/** Whether `file` has the sha256 of its record: trusted while its identity is the recorded one, else read and hashed. */
async function matchesRecord(file: string, record: ArtifactRecord, readOnly: boolean): Promise<boolean> {
  if (record.hashed !== undefined && record.hashed === fileIdentity(file)) return true;
  const hashed = await settledIdentity(file);
  if ((await sha256File(file)) !== record.sha256) return false;
  // Hashed again and unchanged (a record of an older vauban, a copy put back): next time the identity is enough.
  if (!readOnly) writeRecord(file, { ...record, hashed });
  return true;
}

function writeRecord(file: string, record: ArtifactRecord): void {
  const target = recordFileOf(file);
  const temporary = `${target}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, target);
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
    return {
      inputs: record.inputs,
      parts: record.parts ?? {},
      sha256: record.sha256,
      built: record.built,
      facts: record.facts ?? {},
      ...(typeof record.hashed === 'string' ? { hashed: record.hashed } : {}),
    };
  } catch {
    // A record that does not parse is no record: the artifact is rebuilt.
    return undefined;
  }
}

/** Writes the record of `file` as it is now (its sha256 read from disk); returns the sha256. */
export async function writeArtifactRecord(file: string, parts: InputParts, facts: Record<string, string> = {}): Promise<string> {
  const hashed = await settledIdentity(file);
  const sha256 = await sha256File(file);
  writeRecord(file, { inputs: inputsDigest(parts), parts, sha256, built: new Date().toISOString(), facts, hashed });
  return sha256;
}

/** Drops the record of `file` (before the file is rewritten: a record never describes a half-made file). */
export function dropArtifactRecord(file: string): void {
  rmSync(recordFileOf(file), { force: true });
}

export interface ArtifactDecision extends CacheDecision {
  record: ArtifactRecord | undefined;
  /**
   * Reuse from the master's kept copy (`kept`): the output folder holds
   * another master's file (every master writes rootfs.tgz there, as vauban.sh
   * did). The step links it back with restoreArtifact() before using it.
   */
  restoreFrom?: string;
}

/**
 * Reuse or build the artifact `file` whose inputs are `parts`; `kept`: the
 * master's own copy of it (keptArtifact), looked at when `file` is not reusable.
 * `readOnly` (the dry run): no record is refreshed.
 */
export async function decideArtifact(file: string, parts: InputParts, policy: CachePolicy, kept?: string, readOnly = false): Promise<ArtifactDecision> {
  const here = await decideOne(file, parts, policy, readOnly);
  if (here.action === 'reuse' || kept === undefined || policy.noCache) return here;
  const there = await decideOne(kept, parts, policy, readOnly);
  return there.action === 'reuse' ? { ...there, reason: `${there.reason}, kept for this master`, restoreFrom: kept } : here;
}

async function decideOne(file: string, parts: InputParts, policy: CachePolicy, readOnly: boolean): Promise<ArtifactDecision> {
  const record = readArtifactRecord(file);
  const digest = inputsDigest(parts);
  const same = record !== undefined && record.inputs === digest;
  let invalid: string | undefined;
  if (same && !policy.noCache) {
    if (!existsSync(file)) invalid = `${file.split('/').pop() ?? file} is gone`;
    else if (!(await matchesRecord(file, record, readOnly))) invalid = `${file.split('/').pop() ?? file} on disk does not match its recorded sha256`;
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

/**
 * Keeps `file` and its record as `kept` (the master's copy, outside the
 * output folder's shared names): a hard link, no copy; the next master's
 * rootfs.tgz is a new file (written aside and renamed), so this one stays.
 */
export function keepArtifact(file: string, kept: string): void {
  mkdirSync(path.dirname(kept), { recursive: true, mode: 0o700 });
  replaceWithLink(file, kept);
  // A file without a record of its own (the SBOM, checked through rootfs.tgz's) is kept alone.
  if (existsSync(recordFileOf(file))) replaceWithLink(recordFileOf(file), recordFileOf(kept));
}

/** Puts the master's kept copy back at `file` (and its record), each switched in one rename. */
export function restoreArtifact(kept: string, file: string): void {
  replaceWithLink(kept, file);
  if (existsSync(recordFileOf(kept))) replaceWithLink(recordFileOf(kept), recordFileOf(file));
}

function replaceWithLink(from: string, to: string): void {
  const temporary = `${to}.link-${process.pid}`;
  rmSync(temporary, { force: true });
  linkSync(from, temporary);
  renameSync(temporary, to);
}
