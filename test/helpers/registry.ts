// A real Docker registry (Debian's docker-registry) on loopback, with basic
// auth (htpasswd, bcrypt) so that vauban's login is exercised.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './net.js';
import { bash } from './sh.js';

export interface TestRegistry {
  host: string;
  username: string;
  password: string;
  /** GET on the registry's HTTP API, with basic auth; JSON body and headers. */
  api: (urlPath: string, accept?: string) => Promise<{ status: number; body: unknown; headers: Headers }>;
  stop: () => Promise<void>;
  /** Kills it at once (SIGKILL): a registry that dies, not one that stops. */
  kill: () => Promise<void>;
}


export async function startRegistry(dir: string, username: string, password: string): Promise<TestRegistry> {
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  // The password goes to htpasswd on its standard input, not as an argument.
  await bash('printf "%s\\n" "$PASSWORD" | htpasswd -iBn "$1" > "$2"', { args: [username, path.join(dir, 'htpasswd')], env: { PASSWORD: password, PATH: process.env.PATH ?? '' } });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      'auth:',
      '  htpasswd:',
      '    realm: vauban-test',
      `    path: ${path.join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const api = async (urlPath: string, accept?: string) => {
    const response = await fetch(`http://${host}${urlPath}`, { headers: { Authorization: authorization, ...(accept ? { Accept: accept } : {}) } });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body, headers: response.headers };
  };
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await api('/v2/')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (attempt > 100) throw new Error('docker-registry did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    host,
    username,
    password,
    api,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      // Ended already (killed by a signal, exitCode stays null): a second call must not wait for an exit that came.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
