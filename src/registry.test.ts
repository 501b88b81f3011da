import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from './registry.js';
import { Reporter } from './reporter.js';
import type { DockerClient } from './system/docker/client.js';
import type { RegistryAuth } from './system/docker/registry.js';

// The real login is tested against a registry in test/operator.test.ts; here a
// fake engine records what it was given, to force the rarer branches.
describe('which credentials log in (issue 15, item 3)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vauban-registry-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function registryWith(config: unknown, password: string | undefined) {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let output = '';
    (stream as unknown as PassThrough).on('data', (chunk: Buffer) => (output += chunk.toString()));
    const checked: RegistryAuth[] = [];
    const docker = { checkAuth: async (auth: RegistryAuth) => void checked.push(auth) } as unknown as DockerClient;
    const registry = new Registry({
      hostname: 'r.example.com',
      username: 'settings-user',
      password,
      startedAt: new Date(),
      docker: async () => docker,
      reporter: new Reporter({ mode: 'plain', color: false, debug: false, stream }),
      signal: new AbortController().signal,
      env: { DOCKER_CONFIG: dir },
      projectKey: async () => undefined,
      trusted: false,
    });
    return { registry, checked, output: () => output };
  }

  it('the login docker saved wins over the settings', async () => {
    const { registry, checked } = registryWith({ auths: { 'r.example.com': { auth: Buffer.from('saved:pw').toString('base64') } } }, 'settings-pw');
    await registry.login();
    expect(checked).toEqual([{ username: 'saved', password: 'pw', serveraddress: 'r.example.com' }]);
  });

  it('a helper that cannot run: said in a warning, then the settings\' password', async () => {
    const { registry, checked, output } = registryWith({ credsStore: 'vauban-test-missing-helper' }, 'settings-pw');
    await registry.login();
    expect(checked).toEqual([{ username: 'settings-user', password: 'settings-pw', serveraddress: 'r.example.com' }]);
    expect(output()).toMatch(/WARNING: docker-credential-vauban-test-missing-helper is not installed .*: logging in to r\.example\.com with REGISTRY_USERNAME \/ REGISTRY_PASSWORD instead/);
  });

  it('a helper that cannot run and no password: one error naming the helper', async () => {
    const { registry, checked } = registryWith({ credsStore: 'vauban-test-missing-helper' }, undefined);
    await expect(registry.login()).rejects.toThrow(/no credentials for the registry r\.example\.com: docker-credential-vauban-test-missing-helper is not installed .*, and no REGISTRY_PASSWORD/);
    expect(checked).toEqual([]);
  });
});
