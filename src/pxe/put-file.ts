// One file outside the releases (the kernel files of linux/, shared by every
// release): written under a temporary name in its own folder, checked
// (sha256), then renamed, so that a server never serves half a file and a cut
// copy leaves the previous one serving.
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { CleanupStack } from '../system/cleanup.js';
import { temporaryBeside } from './layout.js';
import { protect, sh, type PxeServer } from './pxe-server.js';

export interface PutFileInput {
  local: string;
  /** Under UPLOAD_DIR. */
  path: string;
  sha256: string;
  group: string | undefined;
  runId: string;
  cleanup: CleanupStack;
}

/** Sends the file unless the server has it already with the same sha256 (issue 12); returns whether it was sent. */
export async function putFile(server: PxeServer, input: PutFileInput): Promise<boolean> {
  const final = `${server.dir}/${input.path}`;
  const there = (await server.script([`sha256sum -- ${sh(final)} 2>/dev/null || true`])).stdout.split(' ')[0];
  // Readable by the owner and the web server's group only; its folder too, with UPLOAD_OWNER.
  const folder = input.group === undefined ? [] : protect([path.posix.dirname(final)], input.group, '0750');
  if (there === input.sha256) {
    // Not sent again, but left as a sent file would be: one put there by other means gets the same modes and group.
    await server.script([...protect([final], input.group, '0640'), ...folder]);
    return false;
  }
  const temporary = temporaryBeside(final, input.runId);
  const removeTemporary = input.cleanup.push(`temporary ${server.name}:${temporary}`, async () => {
    await server.script([sh('rm', '-f', '--', temporary)], { debug: server.runOptions.debug, allowFailure: true });
  });
  await server.script([sh('mkdir', '-p', '--', path.posix.dirname(final))]);
  await server.send(input.local, temporary);
  const got = (await server.script([sh('sha256sum', '--', temporary)])).stdout.split(' ')[0];
  if (got !== input.sha256) throw new VaubanError(`${server.name}:${temporary} does not match ${input.local} after the copy (sha256 ${got ?? 'none'} != ${input.sha256})`);
  // Protected before it is served.
  await server.script([...protect([temporary], input.group, '0640'), sh('mv', '-f', '--', temporary, final), ...folder]);
  await removeTemporary();
  return true;
}
