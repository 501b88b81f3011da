// The OS name of a base, the prefix of its images (A2): the distributor id
// lowercased, a dash, the content of /etc/debian_version: debian-12.8.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from './errors.js';

export function readOsName(root: string): string {
  const osRelease = readKeyValues(path.join(root, 'etc/os-release'));
  const lsbRelease = readKeyValues(path.join(root, 'etc/lsb-release'));
  const id = (lsbRelease.DISTRIB_ID ?? osRelease.ID ?? '').toLowerCase();
  const debianVersion = path.join(root, 'etc/debian_version');
  const version = existsSync(debianVersion) ? readFileSync(debianVersion, 'utf8').trim() : (osRelease.VERSION_ID ?? '');
  if (!id || !version) throw new VaubanError(`cannot tell which OS the base is: no /etc/os-release or /etc/debian_version in ${root}`);
  // "trixie/sid" must still make a valid image name.
  return `${id}-${version}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
}

function readKeyValues(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1] as string] = (match[2] as string).replace(/^["']|["']$/g, '');
  }
  return values;
}
