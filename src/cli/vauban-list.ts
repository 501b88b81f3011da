// `vauban list [--json] [--no-servers]` (issue 31): what vauban holds, read
// only: the masters of config.yml, the images it made on this engine (their
// age, whether the next run would reuse them, signed or not, which master
// stands on them), what it keeps in the project folder, and each master's
// releases on the PXE servers (the live one marked).
import { Command } from 'commander';
import type { MasterTree, Master } from '../config/master-tree.js';
import type { Holdings } from '../housekeeping/holdings.js';
import { DAY_MS } from '../cache/decide.js';
import { reuseStateOf } from '../housekeeping/held-images.js';
import { formatBytes } from '../system/format-bytes.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';
import { documentHeader, failureDocument } from './version.js';
import { installDir } from '../install-dir.js';

interface Flags {
  json: boolean;
  servers: boolean;
  debug: boolean;
}

const list: CommandDefinition<Flags, void, 'lifecycle', true> = {
  name: 'vauban list',
  parse: commanderParse(
    () =>
      new Command('vauban list')
        .description('List what vauban holds: masters of config.yml, images (age, reuse, signature, used by), kept files, releases per PXE server')
        .option('--json', 'print it as one JSON document on stdout', false)
        .option('--no-servers', 'do not ask the PXE servers (UPLOAD_HOSTS_LIST) for their releases')
        .option('--debug', 'print every command run', false),
    (program) => program.opts<Flags>(),
  ),
  debug: (flags) => flags.debug,
  json: (flags) => flags.json,
  failureDocument: (_flags, exitCode, reason) => failureDocument(installDir(), exitCode, reason),
  settings: true,
  needs: 'lifecycle',
  work: async ({ io, flags, reporter, settings }, _prepared, { cleanup, signal }) => {
    const values = settings.values;
    const { createDockerClient } = await import('../system/docker/client.js');
    const { readHoldings } = await import('../housekeeping/holdings.js');
    const servers = flags.servers && (values.UPLOAD_HOSTS_LIST ?? '').trim() !== '' ? await openServers(values, cleanup, signal, reporter.debug.bind(reporter)) : [];
    const holdings = await readHoldings({ cwd: io.cwd, docker: await createDockerClient(), servers });
    const maxAgeDays = Number(values.CACHE_MAX_AGE_DAYS ?? '7');
    if (flags.json) io.stdout.write(`${JSON.stringify(holdingsToJson(holdings, new Date(), maxAgeDays), null, 2)}\n`);
    else for (const line of holdingsText(holdings, new Date(), maxAgeDays, flags.servers ? values.UPLOAD_HOSTS_LIST : undefined)) io.stdout.write(`${line}\n`);
    return 0;
  },
};

async function openServers(values: import('../config/settings.js').LoadedSettings['values'], cleanup: import('../system/cleanup.js').CleanupStack, signal: AbortSignal, debug: (line: string) => void) {
  const { createWorkDir } = await import('../system/work-dir.js');
  const { pxeTargets } = await import('../pxe/ssh-options.js');
  const { openSshServer } = await import('../pxe/pxe-server.js');
  const workDir = createWorkDir(values.VAUBAN_WORK_DIR ?? '/var/tmp', cleanup);
  const runOptions = { signal, debug };
  // No folder named: the servers are only read (nothing is made there).
  return Promise.all(pxeTargets(values, workDir).map((target) => openSshServer({ target, dir: values.UPLOAD_DIR ?? '', folders: [], runOptions })));
}


/** The --json document: what the text says, for scripts. */
export function holdingsToJson(holdings: Holdings, now: Date, maxAgeDays: number): Record<string, unknown> {
  return {
    ...documentHeader(installDir()),
    masters: holdings.tree?.all.map((master) => ({ name: master.name, parent: master.parent?.name ?? null, base: master.baseFile, stages: master.stages, conffs: master.conffs ?? null })) ?? null,
    images: holdings.images.map((image) => ({
      id: image.id,
      tags: image.tags,
      built: image.built.toISOString(),
      age_days: Math.floor((now.getTime() - image.built.getTime()) / DAY_MS),
      reuse: reuseStateOf(image, now, maxAgeDays),
      signed: image.signed,
      used_by: image.usedBy,
      size_bytes: image.sizeBytes,
    })),
    kept: holdings.kept.map((held) => ({ kind: held.kind, path: held.path, ...(held.master === undefined ? {} : { master: held.master }), size_bytes: held.sizeBytes, modified: held.modified.toISOString() })),
    releases: holdings.releases.map((one) => ({ server: one.server, master: one.master, releases: one.releases, live: one.live ?? null })),
  };
}

export function holdingsText(holdings: Holdings, now: Date, maxAgeDays: number, serversAsked: string | undefined): string[] {
  const lines: string[] = [];
  lines.push(holdings.tree === undefined ? 'masters: no config.yml here' : 'masters (config.yml):');
  if (holdings.tree !== undefined) lines.push(...treeLines(holdings.tree));
  lines.push(`images vauban made on this engine (reused while younger than ${maxAgeDays} day${maxAgeDays === 1 ? '' : 's'}, CACHE_MAX_AGE_DAYS):`);
  if (holdings.images.length === 0) lines.push('  none');
  for (const image of holdings.images) {
    const reuse = reuseStateOf(image, now, maxAgeDays);
    const state = reuse === 'reusable' ? 'reusable' : reuse === 'stale' ? 'stale (the next run rebuilds it)' : 'dated in the future (not believed)';
    const days = Math.floor((now.getTime() - image.built.getTime()) / DAY_MS);
    const names = image.tags.length === 0 ? '<no name: superseded>' : image.tags.join(', ');
    const users = image.usedBy.length === 0 ? 'no master stands on it' : `used by ${image.usedBy.join(', ')}`;
    lines.push(`  ${image.id.slice(7, 19)}  ${names}`);
    lines.push(`      built ${image.built.toISOString().slice(0, 16).replace('T', ' ')} UTC (${days} d), ${state}, ${image.signed ? 'signed' : 'unsigned'}, ${users}, ${formatBytes(image.sizeBytes)}`);
  }
  lines.push('kept in this folder:');
  if (holdings.kept.length === 0) lines.push('  nothing');
  for (const held of holdings.kept) lines.push(`  ${held.path}  ${formatBytes(held.sizeBytes)}, written ${held.modified.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  if (serversAsked === undefined || serversAsked.trim() === '') {
    lines.push('releases: no PXE server asked (UPLOAD_HOSTS_LIST unset, or --no-servers)');
  } else {
    lines.push('releases on the PXE servers:');
    if (holdings.releases.length === 0) lines.push('  none');
    for (const one of holdings.releases) {
      lines.push(`  ${one.server}: ${one.master}: ${one.releases.map((release) => (release === one.live ? `${release} (live)` : release)).join(', ')}`);
    }
  }
  return lines;
}

function treeLines(tree: MasterTree): string[] {
  const lines: string[] = [];
  const walk = (master: Master, depth: number) => {
    lines.push(`${'  '.repeat(depth + 2)}${master.name}: ${master.stages.join(' ')}${master.conffs === undefined ? '' : ` (conffs: ${master.conffs})`}`);
    for (const child of master.children) walk(child, depth + 1);
  };
  for (const base of [...new Set(tree.roots.map((root) => root.baseFile))]) {
    lines.push(`  ${base}`);
    for (const root of tree.roots.filter((one) => one.baseFile === base)) walk(root, 0);
  }
  return lines;
}

export function mainList(io: CommandIo): Promise<number> {
  return runCommand(list, io);
}
