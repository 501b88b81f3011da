// Inventory host names become image names, file names and vault entries: a
// name that could leave those folders (/, .., spaces) or that Docker refuses
// stops the run before anything is built.
import { VaubanError } from '../errors.js';
import { isImageName } from './image-name.js';

export function assertHostName(host: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(host) || host.includes('..')) {
    throw new VaubanError(`inventory host '${host}' cannot be built: a host name may hold only letters, digits, '.', '_' and '-'`);
  }
  if (!isImageName(`prefix/${host}`)) {
    throw new VaubanError(`inventory host '${host}' cannot be part of a Docker image name (use lowercase host names)`);
  }
}

/**
 * Why an --ansible-host pattern would select every host, or undefined. Ansible
 * adds `all` to a pattern without a positive part: `,` (nothing), `!web01`
 * (all but web01), `&grp` (all and grp) all mean the whole inventory. Parts are
 * separated by `,`, or by `:` outside brackets (web[01:03] is one part).
 */
export function wholeInventoryPattern(pattern: string): string | undefined {
  const parts = splitHostPattern(pattern);
  if (parts.some((part) => !part.startsWith('!') && !part.startsWith('&'))) return undefined;
  return parts.length === 0
    ? 'names no host'
    : `has only exclusions or intersections (${parts.join(', ')})`;
}

/** The parts of an Ansible host pattern, trimmed, empty ones left out. */
export function splitHostPattern(pattern: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of pattern) {
    if (char === '[') depth += 1;
    if (char === ']') depth = Math.max(0, depth - 1);
    if (char === ',' || (char === ':' && depth === 0)) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}
