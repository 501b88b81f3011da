// `vauban promote` and `vauban rollback` (B14): one release made live on every
// PXE server, or on none. Every server is read first (the release must be
// complete on each); then each `current` is switched in turn by one rename;
// when one server fails, those already switched are switched back to the
// release they had, and the command fails.
import { VaubanError } from '../errors.js';
import { currentLink, currentTarget, previousRelease } from './layout.js';
import { readMasterState, releaseNames, type MasterState } from './master-state.js';
import { linkCommand, liveLinks } from './live-links.js';
import type { PxeServer } from './pxe-server.js';

export type SwitchRequest = { kind: 'promote'; release?: string } | { kind: 'rollback' };

export interface SwitchResult {
  release: string;
  /** Per server, the release that was live before. */
  before: Array<{ server: string; release: string | undefined }>;
}

/** The release a request names, from the first server's releases (every server must then have it). */
export function chooseRelease(request: SwitchRequest, state: MasterState, name: string, server: string): string {
  const releases = releaseNames(state);
  if (releases.length === 0) throw new VaubanError(`${server} has no release of ${name}`, { hint: 'upload one first: every vauban upload of a master makes a release' });
  if (request.kind === 'promote') {
    const release = request.release ?? releases.at(-1) as string;
    if (!state.releases.has(release)) throw new VaubanError(`${server} has no release ${release} of ${name} (it has: ${releases.join(', ')})`);
    return release;
  }
  if (state.current === undefined) throw new VaubanError(`${server}: ${name} has no current release to roll back from`);
  const previous = previousRelease(releases, state.current);
  if (previous === undefined) throw new VaubanError(`${server}: ${name} has no release older than ${state.current} to roll back to (kept: ${releases.join(', ')})`);
  return previous;
}

async function makeLive(server: PxeServer, name: string, release: string, state: MasterState, runId: string): Promise<void> {
  const members = (state.releases.get(release) ?? []).map((member) => member.name);
  await server.script([linkCommand(`${server.dir}/${currentLink(name)}`, currentTarget(release), runId), ...liveLinks(server.dir, name, members, runId)]);
}

/** What went wrong, in one line: the last line of a failed command's error output (the command line itself is long). */
export function reason(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.at(-1) ?? 'failed';
}

export async function switchRelease(servers: readonly PxeServer[], name: string, request: SwitchRequest, runId: string, onSwitched?: (server: string, from: string | undefined, to: string) => void): Promise<SwitchResult> {
  const states = await Promise.all(servers.map((server) => readMasterState(server, name)));
  const [first] = servers;
  if (first === undefined) throw new VaubanError('no PXE server: set UPLOAD_HOSTS_LIST');
  const release = chooseRelease(request, states[0] as MasterState, name, first.name);
  servers.forEach((server, index) => {
    const state = states[index] as MasterState;
    if (!state.releases.has(release)) {
      throw new VaubanError(`${server.name} has no complete release ${release} of ${name}: nothing was switched`, { hint: `its releases: ${releaseNames(state).join(', ') || 'none'}` });
    }
  });

  const switched: number[] = [];
  for (const [index, server] of servers.entries()) {
    const state = states[index] as MasterState;
    try {
      await makeLive(server, name, release, state, runId);
      switched.push(index);
      onSwitched?.(server.name, state.current, release);
    } catch (error) {
      const restored: string[] = [];
      const stuck: string[] = [];
      for (const done of switched.reverse()) {
        const other = servers[done] as PxeServer;
        const was = (states[done] as MasterState).current;
        if (was === undefined) {
          stuck.push(`${other.name} (had no current release)`);
          continue;
        }
        try {
          await makeLive(other, name, was, states[done] as MasterState, runId);
          restored.push(`${other.name} (back on ${was})`);
        } catch (undo) {
          stuck.push(`${other.name} (${reason(undo)})`);
        }
      }
      const back = restored.length > 0 ? `; switched back: ${restored.join(', ')}` : '';
      const left = stuck.length > 0 ? `; COULD NOT switch back: ${stuck.join(', ')}` : '';
      throw new VaubanError(`switching ${name} to ${release} failed on ${server.name}: ${reason(error)}${back}${left}`, { cause: error });
    }
  }
  return { release, before: servers.map((server, index) => ({ server: server.name, release: (states[index] as MasterState).current })) };
}
