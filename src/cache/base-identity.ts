// The identity of the run's base (-f file or -d release), known without
// mounting it: what <prefix>/raw-iso is made of (issue 12), for the run and
// for the dry run alike.
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../vauban-config.js';
import type { VaubanOptions } from '../options.js';
import type { InputParts } from './inputs.js';
import { rawBaseParts } from './parts.js';

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

/** The raw-iso's parts and the base's origin (its file name, or debootstrap-<release>). */
export function baseIdentity(options: Pick<VaubanOptions, 'iso' | 'debianRelease'>, settings: Settings, cwd: string): { parts: InputParts; origin: string } {
  const release = options.debianRelease;
  if (release !== undefined) {
    return { parts: rawBaseParts({ release, mirror: settings.DEBIAN_MIRROR ?? DEFAULT_MIRROR }), origin: `debootstrap-${release}` };
  }
  const file = path.resolve(cwd, options.iso ?? '');
  const stat = statSync(file);
  return { parts: rawBaseParts({ file, size: stat.size, mtimeMs: stat.mtimeMs }), origin: path.basename(file) };
}
