// The OS name of a base, the prefix of its images (A2): the distributor id
// lowercased, a dash, the content of /etc/debian_version: debian-12.8.
import { VaubanError } from '../errors.js';
import { readFileInTree } from '../system/tree-path.js';

export function readOsName(root: string): string {
  // Read inside the tree: os-release is a link to ../usr/lib/os-release.
  const osRelease = readKeyValues(root, 'etc/os-release');
  const lsbRelease = readKeyValues(root, 'etc/lsb-release');
  const id = (lsbRelease.DISTRIB_ID ?? osRelease.ID ?? '').toLowerCase();
  const version = readFileInTree(root, 'etc/debian_version')?.toString('utf8').trim() ?? osRelease.VERSION_ID ?? '';
  if (!id || !version) throw new VaubanError(`cannot tell which OS the base is: no /etc/os-release or /etc/debian_version in ${root}`);
  // "trixie/sid" must still make a valid image name.
  return `${id}-${version}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
}

function readKeyValues(root: string, inside: string): Record<string, string> {
  const text = readFileInTree(root, inside)?.toString('utf8');
  if (text === undefined) return {};
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1] as string] = (match[2] as string).replace(/^["']|["']$/g, '');
  }
  return values;
}
