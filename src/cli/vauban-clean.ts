// `vauban clean [--dry-run] [--older-than DAYS] [--mirror] [--json]` (issue
// 31): removes what vauban made that nothing needs any more: images no master
// stands on (superseded builds, masters gone from config.yml), kept artifacts
// of masters gone from config.yml; with --older-than, anything older (the
// next run builds it again); with --mirror, the Ansible mirror. --dry-run
// says what would go. Under the folder's lock: never beside a run.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { CleanItem } from '../housekeeping/clean-plan.js';
import { formatBytes } from '../system/format-bytes.js';
import { installDir } from '../install-dir.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';
import { documentHeader, failureDocument } from './version.js';

interface Flags {
  dryRun: boolean;
  olderThan?: number;
  mirror: boolean;
  json: boolean;
  debug: boolean;
}

const clean: CommandDefinition<Flags, void, 'lifecycle', true> = {
  name: 'vauban clean',
  parse: commanderParse(
    () =>
      new Command('vauban clean')
        .description('Remove the images and kept files vauban made that no master of config.yml needs any more (--dry-run first)')
        .option('--dry-run', 'say what would be removed, remove nothing', false)
        .option('--older-than <days>', 'also remove images and kept files built or written more than that many days ago', (value: string) => {
          if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a whole number of days');
          return Number(value);
        })
        .option('--mirror', 'also remove the Ansible mirror (.vauban/ansible.git: the next run fetches the repository whole)', false)
        .option('--json', 'print what was (or would be) removed as one JSON document on stdout', false)
        .option('--debug', 'print every command run', false),
    (program) => program.opts<Flags>(),
  ),
  debug: (flags) => flags.debug,
  json: (flags) => flags.json,
  failureDocument: (_flags, exitCode, reason) => failureDocument(installDir(), exitCode, reason),
  settings: true,
  needs: 'lifecycle',
  work: async ({ io, flags, reporter }, _prepared, { cleanup, signal }) => {
    const { createDockerClient } = await import('../system/docker/client.js');
    const { readHeldImages } = await import('../housekeeping/held-images.js');
    const { readKeptHoldings } = await import('../housekeeping/kept-holdings.js');
    const { readMasterTreeOf } = await import('../housekeeping/holdings.js');
    const { planClean } = await import('../housekeeping/clean-plan.js');
    if (!flags.dryRun) {
      // A run of this folder may be using what would go: wait for it, as a second run would.
      const { acquireRunLock, describeLockHolder } = await import('../system/run-lock.js');
      await acquireRunLock({ cwd: io.cwd, command: ['vauban clean', ...io.argv].join(' '), cleanup, signal, onWait: (holder) => reporter.warn(`${describeLockHolder(holder)} works in this folder: waiting for it to end`) });
    }
    const tree = await readMasterTreeOf(io.cwd);
    const masters = tree?.all.map((master) => master.name);
    const docker = await createDockerClient();
    const items = planClean(await readHeldImages(docker, masters), readKeptHoldings(io.cwd), { masters, olderThanDays: flags.olderThan, mirror: flags.mirror, now: new Date() });
    const done = flags.dryRun ? new Map<CleanItem, 'removed' | 'untagged'>() : await removeItems(items, { cwd: io.cwd, docker, debug: (line) => reporter.debug(line) });
    const total = items.reduce((sum, item) => sum + item.sizeBytes, 0);
    if (flags.json) {
      io.stdout.write(`${JSON.stringify({ ...documentHeader(installDir()), dry_run: flags.dryRun, items: items.map((item) => ({ ...item, done: done.get(item) ?? null })), size_bytes: total }, null, 2)}\n`);
    } else {
      for (const item of items) {
        const how = flags.dryRun ? 'would remove' : done.get(item) === 'untagged' ? 'untagged (images built on it keep its layers)' : 'removed';
        io.stdout.write(`${how} ${describe(item)}: ${item.why}\n`);
      }
      io.stdout.write(items.length === 0 ? 'nothing to remove\n' : `${flags.dryRun ? 'would free' : 'freed'} about ${formatBytes(total)} (${items.length} item${items.length === 1 ? '' : 's'})${flags.dryRun ? '; run it again without --dry-run to remove them' : ''}\n`);
    }
    return 0;
  },
};

function describe(item: CleanItem): string {
  return item.kind === 'image' ? `image ${item.id.slice(7, 19)} (${item.tags.join(', ') || 'no name'}, ${formatBytes(item.sizeBytes)})` : `${item.path} (${formatBytes(item.sizeBytes)})`;
}

/**
 * Removes the items: kept files, then images. An image goes with its names
 * and the untagged images under it (its build's steps, the unsigned build
 * under a signed one), children before parents. One that other images are
 * built on (a base older than --older-than, under a younger master) can only
 * lose its names: it is said so ("untagged"), and the next run builds it
 * again all the same. Returns what happened to each item.
 */
async function removeItems(items: readonly CleanItem[], input: { cwd: string; docker: import('../system/docker/client.js').DockerClient; debug: (line: string) => void }): Promise<Map<CleanItem, 'removed' | 'untagged'>> {
  const { rmSync } = await import('node:fs');
  const { VaubanError } = await import('../errors.js');
  const done = new Map<CleanItem, 'removed' | 'untagged'>();
  for (const item of items) {
    if (item.kind !== 'kept') continue;
    rmSync(path.join(input.cwd, item.path), { recursive: true, force: true });
    done.set(item, 'removed');
  }
  const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;
  let left = items.filter((item): item is Extract<CleanItem, { kind: 'image' }> => item.kind === 'image');
  for (const item of left) {
    // By name first: an image others are built on loses its names all the same (by id, the engine refuses).
    for (const tag of item.tags) {
      await input.docker.getImage(tag).remove({ force: true }).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
    }
  }
  for (let pass = 0; left.length > 0 && pass < 10; pass++) {
    const refused: typeof left = [];
    for (const item of left) {
      try {
        await input.docker.getImage(item.id).remove({ force: true });
        done.set(item, 'removed');
      } catch (error) {
        // Gone already: with the image it was under. Refused (409): images are built on it, maybe one of this list.
        if (statusOf(error) === 404) done.set(item, 'removed');
        else if (statusOf(error) === 409) refused.push(item);
        else throw error;
        input.debug(`image ${item.id}: ${(error as Error).message}`);
      }
    }
    if (refused.length === left.length) {
      for (const item of refused) done.set(item, 'untagged');
      break;
    }
    left = refused;
  }
  const named = [...done.entries()].filter(([item, how]) => item.kind === 'image' && how === 'untagged' && item.tags.length === 0);
  if (named.length > 0) throw new VaubanError(`the engine refused to remove ${named.map(([item]) => (item as { id: string }).id.slice(7, 19)).join(', ')} (a container of it?)`, { hint: 'see docker ps -a' });
  return done;
}

export function mainClean(io: CommandIo): Promise<number> {
  return runCommand(clean, io);
}
