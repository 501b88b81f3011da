// The registry side of a run (A10): every image vauban builds or tags is also
// tagged <REGISTRY_HOSTNAME>/vauban/<image>:<UTC YYYY-MM-DDTHHMM> and :latest
// and both are pushed; a missing source image is pulled from there; the
// uploaded rootfs' image gets `deployed`. Without REGISTRY_HOSTNAME,
// everything stays local (said once).
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VaubanError } from './errors.js';
import { splitTag } from './image-name.js';
import type { Reporter } from './reporter.js';
import type { DockerClient } from './system/docker/client.js';
import { imageExists, tagImage } from './system/docker/images.js';
import { checkRegistryAuth, pullImage, pushImage, type RegistryAuth } from './system/docker/registry.js';

export interface RegistryOptions {
  hostname: string | undefined;
  username: string | undefined;
  password: string | undefined;
  /** The run's start: the date tag of everything it pushes. */
  startedAt: Date;
  docker: () => Promise<DockerClient>;
  reporter: Reporter;
  signal: AbortSignal;
}

/** UTC YYYY-MM-DDTHHMM, the tag vauban.sh gave each push. */
export function dateTag(date: Date): string {
  return date.toISOString().slice(0, 16).replace(':', '');
}

export class Registry {
  private auth: Promise<RegistryAuth | undefined> | undefined;
  private readonly pending: Array<Promise<void>> = [];
  private saidLocal = false;

  constructor(private readonly options: RegistryOptions) {}

  get enabled(): boolean {
    return this.options.hostname !== undefined;
  }

  get tag(): string {
    return dateTag(this.options.startedAt);
  }

  /** <host>/vauban/<image> */
  remoteName(image: string): string {
    return `${this.options.hostname}/vauban/${splitTag(image).repository}`;
  }

  /** Tags and pushes an image built or tagged by the run; the push goes on in the background until flush(). */
  publish(image: string): void {
    if (!this.enabled) {
      if (!this.saidLocal) this.options.reporter.info('no REGISTRY_HOSTNAME: images stay local');
      this.saidLocal = true;
      return;
    }
    const push = this.push(image);
    // Reported by flush(); never an unhandled rejection meanwhile.
    push.catch(() => undefined);
    this.pending.push(push);
  }

  /** Waits for every push of the run; the first failure fails the run. */
  async flush(): Promise<void> {
    const results = await Promise.allSettled(this.pending.splice(0));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw new VaubanError(`pushing to the registry ${this.options.hostname} failed`, { cause: failed.reason });
  }

  /** Makes `image` available locally, from the registry when it is missing (A10). */
  async ensureLocal(image: string): Promise<boolean> {
    const docker = await this.options.docker();
    if (await imageExists(docker, image)) return true;
    if (!this.enabled) return false;
    const tag = splitTag(image).tag ?? 'latest';
    const remote = `${this.remoteName(image)}:${tag}`;
    this.options.reporter.info(`${image} is not here: pulling ${remote}`);
    try {
      await pullImage(docker, remote, await this.login(), this.options.signal);
    } catch (error) {
      throw new VaubanError(`${image} is neither here nor in the registry (${remote})`, { cause: error });
    }
    await tagImage(docker, remote, splitTag(image).tag === undefined ? `${image}:latest` : image);
    return true;
  }

  /** Moves `deployed` to this run's push of `image` (after its rootfs was uploaded). */
  async markDeployed(image: string, tag = this.tag): Promise<void> {
    if (!this.enabled) return;
    const docker = await this.options.docker();
    const remote = this.remoteName(image);
    await tagImage(docker, `${remote}:${tag}`, `${remote}:deployed`);
    await pushImage(docker, remote, 'deployed', await this.login(), this.options.signal);
    this.options.reporter.info(`${remote}:deployed -> ${tag}`);
  }

  private async push(image: string): Promise<void> {
    const docker = await this.options.docker();
    const auth = await this.login();
    const remote = this.remoteName(image);
    for (const tag of [this.tag, 'latest']) {
      await tagImage(docker, image, `${remote}:${tag}`);
      await pushImage(docker, remote, tag, auth, this.options.signal);
    }
    this.options.reporter.debug(`pushed ${remote}:${this.tag} and :latest`);
  }

  /** Logs in once (A10): the credentials of ~/.docker/config.json if there are some, else the settings. */
  login(): Promise<RegistryAuth | undefined> {
    this.auth ??= this.findAuth();
    return this.auth;
  }

  private async findAuth(): Promise<RegistryAuth | undefined> {
    const host = this.options.hostname ?? '';
    const saved = savedCredentials(host);
    if (saved === undefined && this.options.password === undefined) {
      throw new VaubanError(`no REGISTRY_PASSWORD, and not logged in to the registry ${host}`, { hint: 'set REGISTRY_USERNAME and REGISTRY_PASSWORD, or docker login first' });
    }
    const auth = saved ?? { username: this.options.username ?? '', password: this.options.password ?? '', serveraddress: host };
    try {
      await checkRegistryAuth(await this.options.docker(), auth);
    } catch (error) {
      throw new VaubanError(`login to the registry ${host} as ${auth.username} failed: ${(error as Error).message.split('\n')[0]}`, { cause: error });
    }
    return auth;
  }
}

/** Credentials `docker login` saved for `host`, if any. */
function savedCredentials(host: string): RegistryAuth | undefined {
  const file = path.join(process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
  if (!existsSync(file)) return undefined;
  try {
    const config = JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> };
    const entry = config.auths?.[host] ?? config.auths?.[`https://${host}`] ?? config.auths?.[`http://${host}`];
    if (entry?.auth === undefined) return undefined;
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: host };
  } catch {
    return undefined;
  }
}
