import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextEndpoint, endpointOptions, selectedContext } from './endpoint.js';
import { dialStdioCommand } from './ssh-dial.js';

let config: string;

/** A context as `docker context create NAME --docker host=HOST` stores it (and its TLS files with `tls`). */
function makeContext(name: string, host: string, tls = false): void {
  const id = createHash('sha256').update(name).digest('hex');
  mkdirSync(path.join(config, 'contexts', 'meta', id), { recursive: true });
  writeFileSync(path.join(config, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
  if (tls) {
    mkdirSync(path.join(config, 'contexts', 'tls', id, 'docker'), { recursive: true });
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(path.join(config, 'contexts', 'tls', id, 'docker', file), `${file} of ${name}`);
  }
}

beforeEach(() => {
  config = mkdtempSync(path.join(os.tmpdir(), 'vauban-docker-config-'));
});
afterEach(() => rmSync(config, { recursive: true, force: true }));

describe('the engine a run talks to, found as the docker CLI finds it (issue 29)', () => {
  it('DOCKER_HOST first; then DOCKER_CONTEXT; then config.json\'s currentContext; "default" is the local engine', () => {
    writeFileSync(path.join(config, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'build-server' }));
    expect(selectedContext({ DOCKER_CONFIG: config })).toBe('build-server');
    expect(selectedContext({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'laptop' })).toBe('laptop');
    expect(selectedContext({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'laptop', DOCKER_HOST: 'tcp://10.0.0.1:2375' })).toBeUndefined();
    expect(selectedContext({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'default' })).toBeUndefined();
    expect(selectedContext({ DOCKER_CONFIG: path.join(config, 'none') })).toBeUndefined();
  });

  it("a context's endpoint: tcp (https with its TLS files), a unix socket; ssh through the system's ssh", () => {
    makeContext('plain', 'tcp://10.0.0.2:2375');
    makeContext('tls', 'tcp://build.example:2376', true);
    makeContext('over-ssh', 'ssh://builder@build.example');
    makeContext('socket', 'unix:///run/other/docker.sock');
    const env = { DOCKER_CONFIG: config };
    expect(endpointOptions(contextEndpoint(env, 'plain'))).toEqual({ protocol: 'http', host: '10.0.0.2', port: '2375' });
    const tls = endpointOptions(contextEndpoint(env, 'tls'));
    expect({ ...tls, ca: String(tls.ca), cert: String(tls.cert), key: String(tls.key) }).toEqual({ protocol: 'https', host: 'build.example', port: '2376', ca: 'ca.pem of tls', cert: 'cert.pem of tls', key: 'key.pem of tls' });
    expect(endpointOptions(contextEndpoint(env, 'socket'))).toEqual({ socketPath: '/run/other/docker.sock' });
    // An ssh endpoint: each connection is the docker CLI's `ssh ... docker system dial-stdio`, with the operator's ssh.
    expect(contextEndpoint(env, 'over-ssh').host).toBe('ssh://builder@build.example');
    expect(dialStdioCommand('ssh://builder@build.example')).toEqual(['-o', 'BatchMode=yes', '-T', '-l', 'builder', '--', 'build.example', 'docker', 'system', 'dial-stdio']);
    expect(dialStdioCommand('ssh://build.example:2222')).toEqual(['-o', 'BatchMode=yes', '-T', '-p', '2222', '--', 'build.example', 'docker', 'system', 'dial-stdio']);
    expect(() => dialStdioCommand('tcp://build.example')).toThrow(/not an ssh:\/\/ address/);
  });

  it('a context that does not exist, or names no engine: one clear error', () => {
    expect(() => contextEndpoint({ DOCKER_CONFIG: config }, 'nowhere')).toThrow(/docker context "nowhere" does not exist .*docker context ls/);
    const id = createHash('sha256').update('broken').digest('hex');
    mkdirSync(path.join(config, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(path.join(config, 'contexts', 'meta', id, 'meta.json'), '{"Name":"broken","Endpoints":{}}');
    expect(() => contextEndpoint({ DOCKER_CONFIG: config }, 'broken')).toThrow(/names no Docker endpoint/);
  });
});
