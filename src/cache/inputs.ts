// What an image or artifact is made of, as one digest (issue 12): the inputs
// that change its result, hashed in a canonical order, so that an image with
// the same digest is the same build and can be reused instead of rebuilt. The
// parts are kept beside the digest (as labels, or in a record) so that a
// rebuild can say what changed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Bumped whenever vauban changes how it builds (stage.sh, the stage
 * container, the cleanup of a rootfs...) in a way that changes the result:
 * every cached image and artifact of an older recipe is then rebuilt once.
 */
export const CACHE_RECIPE = 'vauban-cache-2';

/** One input: a value shown as it is (a commit, an image id), or a secret-free digest of a value that may hold secrets. */
export type InputParts = Readonly<Record<string, string>>;

/** sha256 of `text`, hex. */
export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The digest of a set of inputs: sha256 of their canonical JSON (keys
 * sorted), prefixed `sha256:`. The recipe is always part of it.
 */
export function inputsDigest(parts: InputParts): string {
  const sorted = Object.keys(parts)
    .sort()
    .map((key) => [key, parts[key]]);
  return `sha256:${sha256Hex(JSON.stringify([CACHE_RECIPE, sorted]))}`;
}

/**
 * A value that may carry a secret (a hook, ANSIBLE_EXTRA_ARGS) as it goes
 * into the parts: a short digest, so that a label never shows it and a change
 * is still seen. An empty value stays empty (readable: "not set").
 */
export function hiddenPart(value: string | undefined): string {
  return value === undefined || value === '' ? '' : `sha256:${sha256Hex(value).slice(0, 16)}`;
}

/** What changed between the parts of an earlier build and ours, for the plan's reason. */
export function changedParts(before: InputParts, now: InputParts): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(now)]);
  return [...keys].sort().filter((key) => before[key] !== now[key]);
}

/** The sha256 of some of vauban's own files (INSTALL_FILES), read together: an input of what they build. */
export function installDigest(dir: string, files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(path.join(dir, file)));
  return hash.digest('hex');
}
