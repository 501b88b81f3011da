// A real sshd on loopback, private to a test: its own host key, its own
// authorized keys, its own port. Stands in for a git server or a PXE server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { freePort } from './net.js';
import { sh } from './sh.js';

export interface TestSshd {
  port: number;
  hostKeyPublic: string;
  stop: () => Promise<void>;
}

/**
 * The settings that make `sshd` a run's PXE server: `user` logs in with the
 * private key in `keyFile`, the server known by its host key, files under `dir`.
 */
export function pxeServerSettings(sshd: TestSshd, options: { user: string; keyFile: string; dir: string }): Record<string, string> {
  return {
    UPLOAD_HOSTS_LIST: `ssh://127.0.0.1:${sshd.port}`,
    UPLOAD_DIR: options.dir,
    UPLOAD_CI_SSH_USERNAME: options.user,
    UPLOAD_CI_SSH_KEY: readFileSync(options.keyFile).toString('base64'),
    UPLOAD_KNOWN_HOSTS: `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPublic}`,
  };
}


async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`sshd did not listen on ${port}`);
}

/**
 * Starts sshd on 127.0.0.1 accepting `authorizedKeys` (public key lines).
 * `wrap`: a command sshd runs under (e.g. unshare with a mount of its own, to
 * stand in for a second machine with other files at the same path);
 * `config`: more sshd_config lines.
 */
export async function startSshd(dir: string, authorizedKeys: string[], options: { wrap?: string[]; config?: string[] } = {}): Promise<TestSshd> {
  // sshd reads authorized_keys as the user logging in: readable by all.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  writeFileSync(path.join(dir, 'authorized_keys'), `${authorizedKeys.join('\n')}\n`, { mode: 0o644 });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // The test folders live under /var/tmp (world-writable): skip the path checks.
      'StrictModes no',
      'LogLevel ERROR',
      ...(options.config ?? []),
      '',
    ].join('\n'),
  );
  const command = [...(options.wrap ?? []), '/usr/sbin/sshd', '-D', '-e', '-f', config];
  const child = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port, child);
  } catch (error) {
    child.kill();
    throw new Error(`${(error as Error).message}: ${stderr}`);
  }
  return {
    port,
    hostKeyPublic: (await sh('cat', [`${hostKey}.pub`])).trim(),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
