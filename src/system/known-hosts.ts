// A setting that names ssh host keys (UPLOAD_KNOWN_HOSTS, ANSIBLE_REPO_KNOWN_HOSTS):
// known_hosts lines, or the path of a known_hosts file. ssh reads a file: the
// lines are written to the run's private work folder.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';

/** The known_hosts file of `setting`'s `value`: the path it names, or its lines written to `workDir` as `fileName`. */
export function knownHostsFile(workDir: string, setting: string, value: string, fileName: string): string {
  const trimmed = value.trim();
  if (/^\/\S+$/.test(trimmed)) {
    if (!existsSync(trimmed)) throw new VaubanError(`${setting} names ${trimmed}, which does not exist`);
    return trimmed;
  }
  const file = path.join(workDir, fileName);
  if (!existsSync(file)) writeFileSync(file, `${trimmed}\n`, { mode: 0o600 });
  return file;
}

/** ssh's options that check host keys against that file only, strictly (never a key accepted on first sight). */
export function strictHostKeyOptions(file: string): string[] {
  return ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${file}`, '-o', 'GlobalKnownHostsFile=/dev/null'];
}
