// `vauban promote <name> <release>` of a staged release (issue 29): the
// shares the master's job and the conffs shards uploaded are checked on every
// server under the master's lock, then made one release, staged on every
// server and switched on all of them, or on none; the shares folder goes once
// the release is live. Anything missing (a shard that failed, a server that
// did not get a share, a file whose sha256 is not its manifest's) switches
// nothing and names the hosts and servers.
import { VaubanError } from '../errors.js';
import type { CleanupStack } from '../system/cleanup.js';
import type { ProjectSigner } from '../vault/project-key.js';
import { withMasterLocks } from './master-lock.js';
import { publishLocked, type ServerPublication } from './publish-everywhere.js';
import { sh, type PxeServer } from './pxe-server.js';
import { readMasterState } from './master-state.js';
import { releaseDir } from './layout.js';
import { checkShares, readShares, removeShares, type MergedShares } from './shares.js';

export interface PromoteSharesInput {
  name: string;
  release: string;
  /** How many shards the conffs were built in (--shards): each must have uploaded its share. */
  shards: number | undefined;
  group: string | undefined;
  keep: number;
  runId: string;
  cleanup: CleanupStack;
  /** The project's key: the release's SHA256SUMS is signed with it (B19). */
  signer: ProjectSigner | undefined;
  onWaiting: (server: string) => void;
  onSwitched: (server: string, from: string | undefined, to: string) => void;
  onWarning: (text: string) => void;
}

export interface PromotedShares {
  merged: MergedShares;
  published: ServerPublication[];
}

export function promoteShares(servers: readonly PxeServer[], input: PromoteSharesInput): Promise<PromotedShares> {
  return withMasterLocks(servers, input.name, input.onWaiting, async () => {
    const read = await Promise.all(servers.map((server) => readShares(server, input.name, input.release)));
    const verdict = checkShares(input.name, input.release, read, input.shards);
    if (!verdict.ok) {
      throw new VaubanError(`release ${input.release} of ${input.name} is not whole: nothing was switched\n  ${verdict.problems.join('\n  ')}`, {
        hint: 'run the missing shards again (each replaces only its own hosts), then promote again',
      });
    }
    const { merged } = verdict;
    // A promote cut after staging (SIGKILL, a lost server) may have left the release complete, not live, on some
    // servers: made again from the shares, which were checked above.
    for (const server of servers) {
      const state = await readMasterState(server, input.name);
      if (state.releases.has(input.release) && state.current !== input.release) await server.script([sh('rm', '-rf', '--', `${server.dir}/${releaseDir(input.name, input.release)}`)]);
    }
    const published = await publishLocked(
      servers,
      {
        name: input.name,
        release: input.release,
        files: merged.files,
        kernelVersion: merged.kernelVersion,
        linuxCopies: merged.linuxCopies,
        bootFiles: merged.bootFiles,
        group: input.group,
        keep: input.keep,
        runId: input.runId,
        cleanup: input.cleanup,
        ...(input.signer === undefined ? {} : { signer: input.signer }),
        onWarning: input.onWarning,
      },
      { onSwitched: input.onSwitched },
    );
    for (const server of servers) await removeShares(server, input.name, input.release);
    return { merged, published };
  });
}
