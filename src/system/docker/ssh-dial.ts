// An engine behind an ssh:// address (DOCKER_HOST=ssh://user@host, or a
// context's ssh endpoint), reached as the docker CLI reaches it: each
// connection is the system's `ssh <host> docker system dial-stdio`, so the
// operator's ssh config, known hosts, agent and ProxyJump apply, and a host
// whose key is unknown or changed is refused (docker-modem's own ssh client
// checks no host key). vauban talks HTTP to a unix socket of its own, in a
// private folder; this module pipes each connection to its ssh.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { VaubanError } from '../../errors.js';

/** The ssh command line of one connection to the engine at `address` (ssh://[user@]host[:port]). */
export function dialStdioCommand(address: string): string[] {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new VaubanError(`${address} is not an ssh:// address of a Docker engine`);
  }
  if (url.protocol !== 'ssh:' || url.hostname === '') throw new VaubanError(`${address} is not an ssh:// address of a Docker engine`);
  const user = decodeURIComponent(url.username);
  return ['-o', 'BatchMode=yes', '-T', ...(user === '' ? [] : ['-l', user]), ...(url.port === '' ? [] : ['-p', url.port]), '--', url.hostname, 'docker', 'system', 'dial-stdio'];
}

export interface SshDialer {
  socketPath: string;
  close: () => void;
}

/**
 * A private unix socket whose connections each run `ssh ... docker system
 * dial-stdio`. Nothing of it keeps the process alive; at exit its ssh
 * processes are ended and its folder removed.
 */
export async function openSshDialer(address: string): Promise<SshDialer> {
  const command = dialStdioCommand(address);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vauban-docker-ssh-'));
  const socketPath = path.join(dir, 'docker.sock');
  const children = new Set<ChildProcess>();
  const server = net.createServer((connection) => {
    // A stream relay, not a command with an outcome: run() does not apply; ssh's own messages go to our stderr.
    const child = spawn('ssh', command, { stdio: ['pipe', 'pipe', 'inherit'] });
    children.add(child);
    connection.pipe(child.stdin as NodeJS.WritableStream);
    child.stdout?.pipe(connection);
    const end = () => {
      connection.destroy();
      if (child.exitCode === null) child.kill();
      children.delete(child);
    };
    child.once('exit', end);
    child.once('error', end);
    connection.once('close', end);
    connection.once('error', end);
    for (const handle of [connection, child.stdin, child.stdout] as Array<{ unref?: () => void } | null>) handle?.unref?.();
    child.unref();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  server.unref();
  const close = () => {
    for (const child of children) child.kill();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', close);
  return { socketPath, close };
}
