// Which Docker engine a run talks to, found as the docker CLI finds it:
// DOCKER_HOST when set (tcp://, ssh://, unix://: docker-modem reads it, with
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH); else the context DOCKER_CONTEXT
// names, else config.json's `currentContext` (`docker context use`): its
// endpoint and TLS files under $DOCKER_CONFIG/contexts/ (issue 29: a laptop
// drives a build server by its context, as the operator's docker CLI does).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerOptions } from 'dockerode';
import { z } from 'zod';
import { VaubanError } from '../../errors.js';

/** What a context names: its engine's address, and its TLS files when it has them. */
export interface ContextEndpoint {
  context: string;
  host: string;
  skipTlsVerify: boolean;
  /** The folder of ca.pem, cert.pem and key.pem, when the context carries TLS material. */
  tlsDir: string | undefined;
}

const contextMeta = z.object({
  Name: z.string(),
  Endpoints: z.object({ docker: z.object({ Host: z.string().min(1), SkipTLSVerify: z.boolean().optional() }) }),
});

const cliConfig = z.object({ currentContext: z.string().optional() }).passthrough();

/** $DOCKER_CONFIG, else ~/.docker: where the docker CLI keeps config.json and contexts/. */
export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

/** The context's name as the docker CLI picks it when DOCKER_HOST is not set; undefined for the default (local) engine. */
export function selectedContext(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DOCKER_HOST) return undefined;
  let name = env.DOCKER_CONTEXT;
  if (name === undefined || name === '') {
    const file = path.join(dockerConfigDir(env), 'config.json');
    if (existsSync(file)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        throw new VaubanError(`${file} is not JSON: the docker CLI's configuration cannot say which engine to use`);
      }
      name = cliConfig.safeParse(parsed).data?.currentContext;
    }
  }
  return name === undefined || name === '' || name === 'default' ? undefined : name;
}

/** The endpoint of context `name` (the CLI stores it under the sha256 of its name). */
export function contextEndpoint(env: NodeJS.ProcessEnv, name: string): ContextEndpoint {
  const id = createHash('sha256').update(name).digest('hex');
  const contexts = path.join(dockerConfigDir(env), 'contexts');
  const file = path.join(contexts, 'meta', id, 'meta.json');
  if (!existsSync(file)) throw new VaubanError(`docker context "${name}" does not exist (no ${file}): \`docker context ls\` lists them`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    parsed = undefined;
  }
  const meta = contextMeta.safeParse(parsed);
  if (!meta.success) throw new VaubanError(`docker context "${name}" (${file}) names no Docker endpoint vauban can read`);
  const tlsDir = path.join(contexts, 'tls', id, 'docker');
  return { context: name, host: meta.data.Endpoints.docker.Host, skipTlsVerify: meta.data.Endpoints.docker.SkipTLSVerify ?? false, tlsDir: existsSync(tlsDir) ? tlsDir : undefined };
}

/** dockerode's options for a context's endpoint: a unix socket, or tcp (https with the context's TLS files); ssh:// is ssh-dial.ts's. */
export function endpointOptions(endpoint: ContextEndpoint): DockerOptions {
  const { host, context } = endpoint;
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new VaubanError(`docker context "${context}": its endpoint ${host} is not an address vauban can read`);
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') throw new VaubanError(`docker context "${context}": endpoint ${host}: vauban reaches engines over unix://, tcp:// or ssh://`);
  if (endpoint.tlsDir === undefined) return { protocol: 'http', host: url.hostname, port: url.port || '2375' };
  if (endpoint.skipTlsVerify) throw new VaubanError(`docker context "${context}" skips the verification of its engine's TLS certificate: vauban does not; give the context its CA (docker context update --docker ca=...)`);
  const pem = (name: string) => {
    const file = path.join(endpoint.tlsDir as string, name);
    return existsSync(file) ? readFileSync(file) : undefined;
  };
  return { protocol: 'https', host: url.hostname, port: url.port || '2376', ca: pem('ca.pem'), cert: pem('cert.pem'), key: pem('key.pem') };
}
