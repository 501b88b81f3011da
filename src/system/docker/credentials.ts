// The registry credentials the docker CLI would use, from its config file
// (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`): a
// credential helper named for the registry (`credHelpers`), else the default
// store (`credsStore`), else the base64 `auth` `docker login` saved under
// `auths`. A helper is run as the docker CLI runs it: `docker-credential-<name>
// get`, the server name on stdin, `{ServerURL, Username, Secret}` on stdout.
// The secret travels through a pipe and memory only: never an argument, never
// a log line.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { VaubanError } from '../../errors.js';
import { run, type RunOptions } from '../run.js';
import type { RegistryAuth } from './registry.js';

const dockerConfigSchema = z.object({
  auths: z.record(z.string(), z.object({ auth: z.string().optional(), identitytoken: z.string().optional() }).loose()).optional(),
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
}).loose();

export type DockerConfig = z.infer<typeof dockerConfigSchema>;

/** Where the credentials of a registry are, by the docker CLI's rules. */
export type CredentialSource =
  | { kind: 'helper'; helper: string; from: 'credHelpers' | 'credsStore' }
  | { kind: 'auths'; key: string }
  | { kind: 'none' };

/** The username with which a helper hands over an identity token instead of a password (the docker CLI's convention). */
const TOKEN_USERNAME = '<token>';
/** What every docker-credential-* helper prints when it has nothing for the server (docker-credential-helpers). */
const NOT_FOUND = 'credentials not found in native keychain';

/** The docker CLI's config folder: DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

/** config.json of that folder, parsed; undefined when there is none. A file that is not a docker config is an error naming it. */
export function readDockerConfig(dir: string): DockerConfig | undefined {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new VaubanError(`${file} is not valid JSON: ${(error as Error).message}`, { hint: 'fix it, or move it away and docker login again' });
  }
  const parsed = dockerConfigSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VaubanError(`${file} is not a docker config: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'bad value'}`);
  }
  return parsed.data;
}

/** `https://registry.example.com/v1/` and `registry.example.com` name the same registry (the docker CLI's ConvertToHostname). */
export function registryHostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? key;
}

/** Which store holds the credentials of `host`: the docker CLI's order (a helper for the host, the default store, the file). */
export function credentialSourceFor(config: DockerConfig, host: string): CredentialSource {
  const helper = config.credHelpers?.[host];
  if (helper) return { kind: 'helper', helper, from: 'credHelpers' };
  if (config.credsStore) return { kind: 'helper', helper: config.credsStore, from: 'credsStore' };
  const key = Object.keys(config.auths ?? {}).find((one) => one === host) ?? Object.keys(config.auths ?? {}).find((one) => registryHostOf(one) === host);
  return key === undefined ? { kind: 'none' } : { kind: 'auths', key };
}

/** The credentials of an `auths` entry: `auth` is base64 of `user:password`; an identity token stands alone. */
export function authsEntryCredentials(entry: { auth?: string; identitytoken?: string }, host: string): RegistryAuth | undefined {
  if (entry.identitytoken) return { username: '', password: '', identitytoken: entry.identitytoken, serveraddress: host };
  if (!entry.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: host };
}

/** A helper's answer: undefined when it has nothing for the server. */
export function parseHelperOutput(stdout: string, host: string, helper: string): RegistryAuth | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    throw new VaubanError(`docker-credential-${helper} get did not answer with JSON for ${host}`);
  }
  const parsed = z.object({ Username: z.string(), Secret: z.string() }).loose().safeParse(answer);
  if (!parsed.success) throw new VaubanError(`docker-credential-${helper} get answered for ${host} without Username and Secret`);
  const { Username, Secret } = parsed.data;
  if (Secret === '') return undefined;
  if (Username === TOKEN_USERNAME) return { username: '', password: '', identitytoken: Secret, serveraddress: host };
  return { username: Username, password: Secret, serveraddress: host };
}

// A helper reads its own store: the keyring over D-Bus, pass's GnuPG folder,
// a cloud's credentials. It gets what those need, and no setting of vauban's.
const HELPER_ENV = /^(DOCKER_CONFIG|DBUS_SESSION_BUS_ADDRESS|XDG_[A-Z_]+|GNUPGHOME|GPG_TTY|PASSWORD_STORE_[A-Z_]+|AWS_[A-Z_]+|AZURE_[A-Z_]+|GOOGLE_[A-Z_]+|CLOUDSDK_[A-Z_]+)$/;

function helperEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && HELPER_ENV.test(entry[0])));
}

/** `docker-credential-<helper> get` for `host`; undefined when the helper has nothing for it. */
export async function runCredentialHelper(helper: string, host: string, options: RunOptions & { env?: Record<string, string> }): Promise<RegistryAuth | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(helper)) throw new VaubanError(`'${helper}' is not the name of a docker credential helper`);
  const command = `docker-credential-${helper}`;
  const result = await run(command, ['get'], { ...options, input: host, allowFailure: true });
  if (result.exitCode === 0) return parseHelperOutput(result.stdout, host, helper);
  // Helpers report "not found" on stdout (docker-credential-helpers' convention).
  if (`${result.stdout}\n${result.stderr}`.includes(NOT_FOUND)) return undefined;
  if (result.exitCode === -1 || result.exitCode === 127) throw new VaubanError(`${command} is not installed (named in the docker config)`, { hint: `install it, or remove it from config.json` });
  const why = (result.stderr || result.stdout).trim().split('\n').slice(-1)[0] ?? '';
  throw new VaubanError(`${command} get failed for ${host} (exit status ${result.exitCode})${why ? `: ${why}` : ''}`);
}

export interface SavedCredentials {
  auth: RegistryAuth;
  /** Where they came from, for messages: never the secret. */
  origin: string;
}

/** The credentials the docker CLI would use for `host`; undefined when it has none. */
export async function dockerCredentials(host: string, options: { env: NodeJS.ProcessEnv; runOptions?: RunOptions }): Promise<SavedCredentials | undefined> {
  const dir = dockerConfigDir(options.env);
  const config = readDockerConfig(dir);
  if (config === undefined) return undefined;
  const file = path.join(dir, 'config.json');
  const source = credentialSourceFor(config, host);
  if (source.kind === 'none') return undefined;
  if (source.kind === 'auths') {
    const auth = authsEntryCredentials(config.auths?.[source.key] ?? {}, host);
    return auth === undefined ? undefined : { auth, origin: `the login saved in ${file}` };
  }
  const auth = await runCredentialHelper(source.helper, host, { ...options.runOptions, env: helperEnv(options.env) });
  return auth === undefined ? undefined : { auth, origin: `docker-credential-${source.helper} (${source.from} of ${file})` };
}
