// The identity of the run's base (-f file or -d release), known without
// mounting it: what <prefix>/raw-iso is made of (issue 12), for the run and
// for the dry run alike.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../vauban-config.js';
import type { VaubanOptions } from '../model/options.js';
import { inputsDigest, sha256Hex, type InputParts } from './inputs.js';
import { kernelParts, rawBaseParts } from './parts.js';

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

/**
 * What vmlinuz and initramfs.img are made of: the base, dracut.conf and our
 * dracut modules (modules.d/), by content, and the fingerprint of the
 * project's key the initramfs holds (B19).
 */
export function kernelInputs(options: Pick<VaubanOptions, 'iso' | 'debianRelease'>, settings: Settings, cwd: string, installDir: string, releaseKey: string | undefined): InputParts {
  const ours = path.join(installDir, 'modules.d');
  const files = (readdirSync(ours, { recursive: true }) as string[]).sort().filter((name) => statSync(path.join(ours, name)).isFile());
  const modules = sha256Hex(files.map((name) => `${name}\0${sha256Hex(readFileSync(path.join(ours, name)))}`).join('\n'));
  return kernelParts({ base: inputsDigest(baseIdentity(options, settings, cwd).parts), dracutConf: sha256Hex(readFileSync(path.join(installDir, 'dracut.conf'))), modules, releaseKey });
}
