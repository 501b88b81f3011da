// One writer per master on a PXE server (issue 30): two runs publishing the
// same master (two pipelines) would both inherit from the old live release,
// the last switch dropping the other's files, and one's pruning could remove
// the release the other links from. The publish, its switch and its pruning,
// and promote and rollback, hold the master's lock on every server they touch,
// taken in the order of UPLOAD_HOSTS_LIST (two runs never hold one each).
import { lockFile } from './layout.js';
import type { PxeServer } from './pxe-server.js';

/** What a run waiting for another one's lock says, once per server. */
export function waitingMessage(server: string, name: string): string {
  return `${server}: another vauban run is publishing or switching ${name}: waiting for it`;
}

/** Runs `work` holding `name`'s lock on each of `servers`; `onWaiting` names a server where another run holds it. */
export async function withMasterLocks<T>(servers: readonly PxeServer[], name: string, onWaiting: (server: string) => void, work: () => Promise<T>): Promise<T> {
  const releases: Array<() => Promise<void>> = [];
  try {
    for (const server of servers) releases.push(await server.lock(`${server.dir}/${lockFile(name)}`, () => onWaiting(server.name)));
    return await work();
  } finally {
    for (const release of releases.reverse()) await release();
  }
}
