// Mounts made by this run, each registered for release the moment it exists.
import { chmodSync, mkdirSync } from 'node:fs';
import type { CleanupStack } from './cleanup.js';
import { run, type RunOptions } from './run.js';

export interface MountOptions {
  source: string;
  target: string;
  type?: string;
  options?: string[];
  /** Extra mount(8) flags such as --rbind. */
  flags?: string[];
}

/**
 * Mounts `source` on `target` (created if needed). The unmount is registered
 * before mount(8) runs, and mount(8) is never interrupted: a Ctrl-C can not
 * land between a mount the kernel made and its release being known.
 */
export async function mount(options: MountOptions, cleanup: CleanupStack, runOptions: RunOptions = {}): Promise<() => Promise<void>> {
  mkdirSync(options.target, { recursive: true });
  const args = [...(options.flags ?? [])];
  if (options.type) args.push('-t', options.type);
  if (options.options?.length) args.push('-o', options.options.join(','));
  args.push(options.source, options.target);
  const release = cleanup.push(`mount ${options.target}`, () => unmount(options.target, runOptions));
  await run('mount', args, { ...runOptions, signal: undefined });
  return release;
}

export interface OverlayOptions {
  /** Lower layers, top first. */
  lower: string[];
  upper?: string;
  work?: string;
  target: string;
  readOnly?: boolean;
}

/** Mounts an overlay; without `upper` it is read-only. */
export async function mountOverlay(options: OverlayOptions, cleanup: CleanupStack, runOptions: RunOptions = {}): Promise<() => Promise<void>> {
  const mountOptions = [`lowerdir=${options.lower.join(':')}`];
  if (options.upper !== undefined && options.work !== undefined) {
    mkdirSync(options.upper, { recursive: true });
    // The merged tree's / has the upper folder's mode: 0755, as Docker's layers, whatever the run's umask.
    chmodSync(options.upper, 0o755);
    mkdirSync(options.work, { recursive: true });
    mountOptions.push(`upperdir=${options.upper}`, `workdir=${options.work}`);
  }
  if (options.readOnly) mountOptions.unshift('ro');
  return mount({ source: 'overlay', target: options.target, type: 'overlay', options: mountOptions }, cleanup, runOptions);
}

/** Unmounts `target` and anything mounted below it (all of it ours: it lives in our work folder). */
async function unmount(target: string, runOptions: RunOptions): Promise<void> {
  const args = ['--recursive', target];
  // Cleanup runs after an abort too: never pass the run's (aborted) signal here.
  for (let attempt = 0; ; attempt++) {
    const result = await run('umount', args, { ...runOptions, signal: undefined, allowFailure: true });
    if (result.exitCode === 0 || /not mounted|no mount point/.test(result.stderr)) return;
    if (attempt >= 10) {
      // Still busy after 3 s: detach it now; the kernel frees it when its last user goes.
      const lazy = await run('umount', ['--lazy', ...args], { ...runOptions, signal: undefined, allowFailure: true });
      if (lazy.exitCode === 0) return;
      throw new Error(`umount ${target}: ${result.stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Mount points at or under `dir`, deepest first, read from /proc/self/mountinfo. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
