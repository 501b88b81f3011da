// The fixture's Debian raw image for the benches: the one the integration
// tests cached under /var/cache/vauban-test, else a new one made in `work`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const CACHE = '/var/cache/vauban-test';
const NAME = 'debian-12-generic-amd64.raw';

/** The path of the fixture base image; `top` is the repository's folder. */
export function fixtureBaseImage(top, work) {
  const cached = existsSync(CACHE) ? readdirSync(CACHE).filter((name) => name.startsWith('base-')) : [];
  const found = cached.map((dir) => path.join(CACHE, dir, NAME)).find((file) => existsSync(file));
  if (found) return found;
  const made = path.join(work, NAME);
  execFileSync('bash', [path.join(top, 'test/fixtures/make-base-image.sh'), made], { stdio: 'inherit' });
  return made;
}
