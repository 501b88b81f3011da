// A release on every PXE server, all or none (issue 30, B14, B19): staged
// (complete, not live) on each server first; only when every server has it is
// `current` switched on all of them (switchRelease: one that fails is switched
// back with the others); a server that fails to stage it fails the upload
// with nothing switched anywhere, and the staged copies are removed. The fleet
// never boots two releases of a master because one server failed.
import { VaubanError } from '../errors.js';
import { withMasterLocks } from './master-lock.js';
import { readMasterState } from './master-state.js';
import { finishRelease, stageRelease, type PublishInput, type PublishedRelease, type StagedRelease } from './publish-release.js';
import type { PxeServer } from './pxe-server.js';
import { reason, switchRelease } from './switch-release.js';

export interface ServerPublication {
  server: string;
  published: PublishedRelease;
}

export interface PublishHooks {
  /** Before a server's staging starts. */
  onStaging?: (server: string) => void;
  /** Another run holds the master's lock on that server: this one waits. */
  onWaiting?: (server: string) => void;
  onSwitched?: (server: string, from: string | undefined, to: string) => void;
}

export function publishEverywhere(servers: readonly PxeServer[], input: PublishInput, hooks: PublishHooks = {}): Promise<ServerPublication[]> {
  return withMasterLocks(servers, input.name, (server) => hooks.onWaiting?.(server), () => publishLocked(servers, input, hooks));
}

/** The same, for a caller that holds the master's lock on every server already (a promote of shares). */
export async function publishLocked(servers: readonly PxeServer[], input: PublishInput, hooks: PublishHooks): Promise<ServerPublication[]> {
  const staged: StagedRelease[] = [];
  for (const server of servers) {
    try {
      hooks.onStaging?.(server.name);
      staged.push(await stageRelease(server, input));
    } catch (error) {
      for (const one of staged) await one.remove();
      const removed = staged.length > 0 ? ` (the copies staged on ${staged.map((one) => one.server.name).join(', ')} removed)` : '';
      throw new VaubanError(`${server.name}: release ${input.release} of ${input.name} could not be staged: ${reason(error)}; no server was switched${removed}`, { cause: error });
    }
  }
  try {
    await switchRelease(servers, input.name, { kind: 'promote', release: input.release }, input.runId, hooks.onSwitched);
  } catch (error) {
    // Switched back where it could be: there the release is not live and goes; where it stayed live, it stays.
    for (const one of staged) {
      const current = await readMasterState(one.server, input.name).then((state) => state.current, () => input.release);
      await (current === input.release ? one.madeLive() : one.remove());
    }
    throw error;
  }
  for (const one of staged) await one.madeLive();
  const results: ServerPublication[] = [];
  for (const one of staged) results.push({ server: one.server.name, published: await finishRelease(one, input) });
  return results;
}
