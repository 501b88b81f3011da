import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authsEntryCredentials,
  credentialSourceFor,
  dockerConfigDir,
  dockerCredentials,
  parseHelperOutput,
  readDockerConfig,
  registryHostOf,
} from './credentials.js';

describe('which store holds a registry\'s credentials (the docker CLI\'s order)', () => {
  const config = {
    auths: { 'registry.example.com:5000': { auth: 'eA==' }, 'https://other.example.com/v1/': { auth: 'eA==' } },
    credsStore: 'secretservice',
    credHelpers: { 'ecr.example.com': 'ecr-login' },
  };

  it('a helper named for the host wins over the default store and the file', () => {
    expect(credentialSourceFor(config, 'ecr.example.com')).toEqual({ kind: 'helper', helper: 'ecr-login', from: 'credHelpers' });
  });

  it('the default store comes next, even when auths has an entry (docker login then leaves it empty)', () => {
    expect(credentialSourceFor(config, 'registry.example.com:5000')).toEqual({ kind: 'helper', helper: 'secretservice', from: 'credsStore' });
  });

  it('without a store, the auths entry of the host, written with or without a scheme and path', () => {
    const file = { auths: config.auths };
    expect(credentialSourceFor(file, 'registry.example.com:5000')).toEqual({ kind: 'auths', key: 'registry.example.com:5000' });
    expect(credentialSourceFor(file, 'other.example.com')).toEqual({ kind: 'auths', key: 'https://other.example.com/v1/' });
    expect(credentialSourceFor(file, 'registry.example.com')).toEqual({ kind: 'none' });
    expect(credentialSourceFor({}, 'registry.example.com')).toEqual({ kind: 'none' });
  });

  it('reads host names as the docker CLI does', () => {
    expect(registryHostOf('https://index.docker.io/v1/')).toBe('index.docker.io');
    expect(registryHostOf('http://127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(registryHostOf('registry.example.com')).toBe('registry.example.com');
  });
});

describe('credentials from the file and from helpers', () => {
  it('an auths entry: base64 user:password (a colon in the password kept), or an identity token', () => {
    const auth = Buffer.from('robot$ci:pa:ss').toString('base64');
    expect(authsEntryCredentials({ auth }, 'r.example.com')).toEqual({ username: 'robot$ci', password: 'pa:ss', serveraddress: 'r.example.com' });
    expect(authsEntryCredentials({ identitytoken: 'tok' }, 'r.example.com')).toEqual({ username: '', password: '', identitytoken: 'tok', serveraddress: 'r.example.com' });
    expect(authsEntryCredentials({}, 'r.example.com')).toBeUndefined();
    expect(authsEntryCredentials({ auth: Buffer.from('nocolon').toString('base64') }, 'r.example.com')).toBeUndefined();
  });

  it('a helper\'s JSON: a password, the <token> user for an identity token, an empty secret for none', () => {
    expect(parseHelperOutput('{"ServerURL":"r","Username":"u","Secret":"s"}', 'r', 'x')).toEqual({ username: 'u', password: 's', serveraddress: 'r' });
    expect(parseHelperOutput('{"Username":"<token>","Secret":"t"}', 'r', 'x')).toEqual({ username: '', password: '', identitytoken: 't', serveraddress: 'r' });
    expect(parseHelperOutput('{"Username":"","Secret":""}', 'r', 'x')).toBeUndefined();
    expect(() => parseHelperOutput('not json', 'r', 'x')).toThrow(/docker-credential-x get did not answer with JSON for r/);
    expect(() => parseHelperOutput('{"Username":"u"}', 'r', 'x')).toThrow(/without Username and Secret/);
  });

  it('the config folder: DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigDir({ DOCKER_CONFIG: '/etc/docker-ci', HOME: '/root' })).toBe('/etc/docker-ci');
    expect(dockerConfigDir({ HOME: '/home/op' })).toBe('/home/op/.docker');
  });
});

// Fake helpers on PATH: they stand in for a keyring, to drive the exchange
// (stdin, stdout, exit statuses); the real login is tested in test/operator.test.ts.
describe('running docker-credential-<name> get', () => {
  let dir: string;
  let bin: string;
  let savedPath: string | undefined;

  const helper = (name: string, script: string) => {
    const file = path.join(bin, `docker-credential-${name}`);
    writeFileSync(file, `#!/bin/sh\n${script}\n`);
    chmodSync(file, 0o755);
  };
  const config = (content: unknown) => writeFileSync(path.join(dir, 'config.json'), JSON.stringify(content));
  const env = () => ({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH ?? ''}`, REGISTRY_PASSWORD: 'settings-secret', AWS_PROFILE: 'ci' });

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vauban-credentials-'));
    bin = path.join(dir, 'bin');
    mkdirSync(bin);
    savedPath = process.env.PATH;
    // run() takes PATH from the process: the fake helpers must be found there.
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    // Reads the server on stdin; answers for r.example.com only; records what it saw.
    helper('fake', [
      'read -r server',
      `printf '%s\\n' "$server" "$#:$*" "\${REGISTRY_PASSWORD:-unset}" "\${AWS_PROFILE:-unset}" > "${dir}/seen"`,
      'if [ "$server" = r.example.com ]; then printf \'{"ServerURL":"%s","Username":"robot","Secret":"from-helper"}\' "$server"; exit 0; fi',
      'echo "credentials not found in native keychain"; exit 1',
    ].join('\n'));
    helper('broken', 'echo "cannot reach the keyring" >&2; exit 3');
  });

  afterAll(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks the helper named in credHelpers, with the server on stdin and `get` as its only argument', async () => {
    config({ credHelpers: { 'r.example.com': 'fake' }, auths: { 'r.example.com': { auth: Buffer.from('file:pw').toString('base64') } } });
    const found = await dockerCredentials('r.example.com', { env: env() });
    expect(found?.auth).toEqual({ username: 'robot', password: 'from-helper', serveraddress: 'r.example.com' });
    expect(found?.origin).toBe(`docker-credential-fake (credHelpers of ${dir}/config.json)`);
    // The server, `get` alone, none of vauban's settings, but the helper's own environment.
    expect(readFileSync(path.join(dir, 'seen'), 'utf8').split('\n')).toEqual(['r.example.com', '1:get', 'unset', 'ci', '']);
  });

  it('the credsStore helper; "not found" there means none (then REGISTRY_PASSWORD is asked)', async () => {
    config({ credsStore: 'fake' });
    expect((await dockerCredentials('r.example.com', { env: env() }))?.auth.password).toBe('from-helper');
    expect(await dockerCredentials('elsewhere.example.com', { env: env() })).toBeUndefined();
  });

  it('a failing or missing helper is an error naming it, with its message', async () => {
    config({ credsStore: 'broken' });
    await expect(dockerCredentials('r.example.com', { env: env() })).rejects.toThrow(/docker-credential-broken get failed for r\.example\.com \(exit status 3\): cannot reach the keyring/);
    config({ credsStore: 'nowhere' });
    await expect(dockerCredentials('r.example.com', { env: env() })).rejects.toThrow(/docker-credential-nowhere is not installed/);
    config({ credsStore: '../../bin/sh' });
    await expect(dockerCredentials('r.example.com', { env: env() })).rejects.toThrow(/is not the name of a docker credential helper/);
  });

  it('the auths entry when no store is set; nothing without a config file; a broken file named', async () => {
    config({ auths: { 'https://r.example.com': { auth: Buffer.from('file:pw').toString('base64') } } });
    expect(await dockerCredentials('r.example.com', { env: env() })).toEqual({
      auth: { username: 'file', password: 'pw', serveraddress: 'r.example.com' },
      origin: `the login saved in ${dir}/config.json`,
    });
    expect(await dockerCredentials('r.example.com', { env: { DOCKER_CONFIG: path.join(dir, 'none') } })).toBeUndefined();
    writeFileSync(path.join(dir, 'config.json'), '{"auths": ');
    expect(() => readDockerConfig(dir)).toThrow(new RegExp(`${dir}/config.json is not valid JSON`));
    config({ credHelpers: ['fake'] });
    expect(() => readDockerConfig(dir)).toThrow(/is not a docker config: credHelpers/);
  });
});
