// `vauban promote <name> [<release>]` and `vauban rollback <name>` (B14): make
// one release of a master live on every PXE server of UPLOAD_HOSTS_LIST, or
// on none. Same run lifecycle as a build (the folder's lock, Ctrl-C, recap).
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { assertMasterName } from '../model/image-name.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';
import type { PxeServer } from '../pxe/pxe-server.js';

interface Flags {
  list: boolean;
  debug: boolean;
  shards?: number;
}

interface ReleaseFlags extends Flags {
  name: string;
  release: string | undefined;
}

function releaseProgram(kind: 'promote' | 'rollback'): Command {
  const program = new Command(`vauban ${kind}`)
    .argument('<name>', 'the master, as named on the PXE servers')
    .option('--list', "list each server's releases of the master and the live one; switch nothing", false)
    .option('--debug', 'print every command run', false);
  if (kind === 'promote') {
    program
      .description('Make a release of a master live on every PXE server (default: the newest), or on none')
      .argument('[release]', 'the release to make live (default: the newest)')
      .option('--shards <n>', 'a staged release: the conffs were built in n shards, each must have uploaded its share', (value: string) => {
        if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('expected a whole number of 1 or more');
        return Number(value);
      });
  } else {
    program.description('Make the release before the live one live again on every PXE server, or on none');
  }
  return program;
}

function releaseCommand(kind: 'promote' | 'rollback'): CommandDefinition<ReleaseFlags, void, 'session', true> {
  return {
    name: `vauban ${kind}`,
    parse: commanderParse(
      () => releaseProgram(kind),
      (program) => {
        const [name, release] = program.processedArgs as [string, string | undefined];
        return { ...program.opts<Flags>(), name, release };
      },
    ),
    debug: (flags) => flags.debug,
    settings: true,
    prepare: async ({ flags, settings }) => {
      assertMasterName(flags.name, '<name>');
      const { assertReleaseName } = await import('../pxe/layout.js');
      if (flags.release !== undefined) assertReleaseName(flags.release);
      const { assertRequiredSettings } = await import('../config/settings.js');
      assertRequiredSettings(settings, { ansible: false, vault: false, upload: true }, `${kind} a release`);
    },
    needs: 'session',
    work: async ({ flags, reporter, settings, io }, _prepared, { cleanup, report, signal, workDir }) => {
      const { name, release } = flags;
      const values = (settings).values;
      const { openSshServer } = await import('../pxe/pxe-server.js');
      const { pxeTargets } = await import('../pxe/ssh-options.js');
      const { readMasterState, releaseNames } = await import('../pxe/master-state.js');
      const { switchRelease } = await import('../pxe/switch-release.js');
      const dir = values.UPLOAD_DIR ?? '';
      const runOptions = { signal, debug: (line: string) => reporter.debug(line) };
      const servers = await reporter.step(`${kind} ${name}: reach the PXE servers`, () =>
        Promise.all(pxeTargets(values, workDir).map((target) => openSshServer({ target, dir, folders: [name], runOptions }))),
      );
      const { listStaged } = await import('../pxe/shares.js');
      if (flags.list) {
        for (const server of servers) {
          const state = await readMasterState(server, name);
          const staged = [...(await listStaged(server, name))].map(([one, shares]) => `${one} (staged, shares: ${shares.join(', ')})`);
          reporter.line(`${server.name}: ${[...releaseNames(state).map((one) => (one === state.current ? `${one} (live)` : one)), ...staged].join(', ') || 'no release'}`);
        }
        return 0;
      }
      const { runIdOf } = await import('../system/work-dir.js');
      const { waitingMessage, withMasterLocks } = await import('../pxe/master-lock.js');
      const waiting = (server: string) => reporter.info(waitingMessage(server, name));
      // A release named that is not complete anywhere but staged as shares (issue 29): made whole, then live.
      if (kind === 'promote' && release !== undefined && (await isStagedOnly(servers, name, release))) {
        const { promoteShares } = await import('../pxe/promote-shares.js');
        const { releaseSigner } = await import('../vault/project-key.js');
        const { VAULT_DIR } = await import('../model/local-layout.js');
        const signer = await releaseSigner(path.join(io.cwd, VAULT_DIR), values.VAULTED_SSHD_KEYS_KEY);
        const promoted = await reporter.step(`promote the shares of ${name} release ${release} on ${servers.length} server(s), all or none`, () =>
          promoteShares(servers, {
            name,
            release,
            shards: flags.shards,
            group: values.UPLOAD_OWNER || undefined,
            keep: Number(values.RELEASES_KEEP ?? '3'),
            runId: runIdOf(workDir),
            cleanup,
            signer,
            onWaiting: waiting,
            onSwitched: (server, from, to) => report.live.push(`${server}: ${name} release ${to} (was ${from ?? 'none'})`),
            onWarning: (text) => reporter.warn(text),
          }),
        );
        for (const note of promoted.merged.notes) reporter.info(`${name}: ${note}`);
        reporter.info(`${name}: release ${release} (shares ${promoted.merged.labels.join(', ')}; ${promoted.merged.hosts.length} host(s)) is live on ${servers.map((server) => server.name).join(', ')}`);
        return 0;
      }
      const result = await reporter.step(`${kind} ${name} on ${servers.length} server(s)`, () =>
        withMasterLocks(servers, name, waiting, () =>
          switchRelease(servers, name, kind === 'promote' ? { kind, release } : { kind }, runIdOf(workDir), (server, from, to) => {
            report.live.push(`${server}: ${name} release ${to} (was ${from ?? 'none'})`);
          }),
        ),
      );
      reporter.info(`${name}: release ${result.release} is live on ${servers.map((server) => server.name).join(', ')}`);
      return 0;
    },
  };
}

/**
 * True when a server has shares of `release` and no server has it live: a
 * staged release (one that a cut promote left complete on some servers is
 * made again from its shares, which are still there).
 */
async function isStagedOnly(servers: readonly PxeServer[], name: string, release: string): Promise<boolean> {
  const { readMasterState } = await import('../pxe/master-state.js');
  const { listStaged } = await import('../pxe/shares.js');
  for (const server of servers) if ((await readMasterState(server, name)).current === release) return false;
  for (const server of servers) if ((await listStaged(server, name)).has(release)) return true;
  return false;
}

export function mainRelease(io: CommandIo, kind: 'promote' | 'rollback'): Promise<number> {
  return runCommand(releaseCommand(kind), io);
}
