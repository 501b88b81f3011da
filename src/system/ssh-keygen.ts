// sshd host keys, generated as `ssh-keygen -A` does (rsa, ecdsa, ed25519).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, type RunOptions } from './run.js';

export interface KeyFile {
  /** File name under etc/ssh, e.g. ssh_host_ed25519_key. */
  name: string;
  data: Buffer;
}

/** Generates a fresh set of sshd host keys in a private temporary folder and returns them. */
export async function generateHostKeys(runOptions: RunOptions = {}): Promise<KeyFile[]> {
  const prefix = mkdtempSync(path.join(tmpdir(), 'vauban-keys-'));
  try {
    mkdirSync(path.join(prefix, 'etc/ssh'), { recursive: true, mode: 0o700 });
    await run('ssh-keygen', ['-A', '-f', prefix], runOptions);
    const dir = path.join(prefix, 'etc/ssh');
    return readdirSync(dir)
      .filter((name) => name.startsWith('ssh_host_'))
      .sort()
      .map((name) => ({ name, data: readFileSync(path.join(dir, name)) }));
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}
