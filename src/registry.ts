// The registry side of a run (A10): every image vauban builds or tags is also
// tagged <REGISTRY_HOSTNAME>/vauban/<image>:<UTC YYYY-MM-DDTHHMM> and :latest
// and both are pushed; a missing source image is pulled from there; the
// uploaded rootfs' image gets `deployed`. Without REGISTRY_HOSTNAME,
// everything stays local (said once).
import { INPUTS_LABEL } from './cache/image-cache.js';
import { vouchingOf } from './cache/vouch.js';
import { VaubanError } from './errors.js';
import { splitTag } from './model/image-name.js';
import type { Reporter } from './reporter.js';
import type { ProjectKey } from './vault/project-key.js';
import type { DockerClient } from './system/docker/client.js';
import { imageExists, tagImage } from './system/docker/images.js';
import { dockerCredentials, type SavedCredentials } from './system/docker/credentials.js';
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
  /** Where the docker CLI's config is found (DOCKER_CONFIG, HOME) and what its credential helpers see. */
  env: NodeJS.ProcessEnv;
  /** The project's key, that an image of the registry must be signed with to be reused (issue 30). */
  projectKey: () => Promise<ProjectKey | undefined>;
  /** REGISTRY_TRUSTED=yes: whoever can push is trusted, an unsigned image is reused too. */
  trusted: boolean;
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
    return registryImageName(this.options.hostname ?? '', image);
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

  /**
   * Makes `image` available locally, from the registry when it is missing
   * (A10); with `fresh`, the registry's copy even when one is here (a shard:
   * a runner's image of an earlier pipeline is not the master of this one).
   */
  async ensureLocal(image: string, fresh = false): Promise<boolean> {
    const docker = await this.options.docker();
    const here = await imageExists(docker, image);
    if (here && !(fresh && this.enabled)) return true;
    if (!this.enabled) return false;
    const tag = splitTag(image).tag ?? 'latest';
    const remote = `${this.remoteName(image)}:${tag}`;
    this.options.reporter.info(here ? `${image}: the registry's ${remote} (pulled: a shard builds on the master its job pushed)` : `${image} is not here: pulling ${remote}`);
    try {
      await pullImage(docker, remote, await this.login(), this.options.signal, this.saysEvery10s(`pulling ${remote}`));
    } catch (error) {
      throw new VaubanError(`${image} is neither here nor in the registry (${remote})`, { cause: error });
    }
    await this.assertVouched(remote);
    await tagImage(docker, remote, splitTag(image).tag === undefined ? `${image}:latest` : image);
    return true;
  }

  /**
   * An image just pulled to build on or to deploy (a source, a shard's
   * master, a dated tag to re-deploy) is used only when the project's key
   * signed it (issue 30), or REGISTRY_TRUSTED=yes; else its pulled name is
   * removed and the run stops, saying why. A project without a key uses it
   * as before, with a warning: the image is one the operator named.
   */
  async assertVouched(remote: string): Promise<void> {
    if (this.options.trusted) return;
    const docker = await this.options.docker();
    const key = await this.options.projectKey();
    if (key === undefined) {
      // A project without a key names its images and trusts its registry for them, as before (said).
      this.options.reporter.warn(`${remote}: nothing vouches for it (the project has no signing key: vauban keygen)`);
      return;
    }
    const vouching = await vouchingOf(await docker.getImage(remote).inspect(), key);
    if (vouching.vouched) return;
    await docker.getImage(remote).remove().catch(() => undefined);
    throw new VaubanError(`the registry's ${remote} is not used: ${vouching.why}`, {
      hint: 'build it again with a run that has VAULTED_SSHD_KEYS_KEY (its push is signed), or set REGISTRY_TRUSTED=yes if whoever can push there is trusted',
    });
  }

  /**
   * The build of inputs `digest` that an earlier run (this machine's before
   * its images were pruned, a CI runner's) pushed as :latest of `image`:
   * pulled, and its local id returned when its label names these inputs
   * (issue 12) and the project's key signed it (issue 30); undefined when
   * the registry has no such name, other inputs under it, or an image the
   * project did not sign (the pull then served nothing, its layers stay
   * cached; an unsigned one is said once, as a warning).
   */
  async pullBuildOf(image: string, digest: string): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    const docker = await this.options.docker();
    const remote = `${this.remoteName(image)}:latest`;
    try {
      await pullImage(docker, remote, await this.login(), this.options.signal, this.saysEvery10s(`pulling ${remote}`));
    } catch (error) {
      if (this.options.signal.aborted) throw error;
      this.options.reporter.debug(`cache: no ${remote} to reuse: ${(error as Error).message}`);
      return undefined;
    }
    const info = await docker.getImage(remote).inspect();
    if (info.Config.Labels?.[INPUTS_LABEL] !== digest) return undefined;
    if (this.options.trusted) return info.Id;
    // Without the project's key nothing can vouch for it: built here instead (REGISTRY_TRUSTED=yes reuses it).
    const vouching = await vouchingOf(info, await this.options.projectKey());
    if (vouching.vouched) return info.Id;
    this.options.reporter.warn(`${remote} has the inputs of this build but is not reused: ${vouching.why} (REGISTRY_TRUSTED=yes reuses unsigned images)`);
    // Not the image of this name: what the pull left must not be found by its label either.
    await docker.getImage(info.Id).remove({ force: true }).catch(() => undefined);
    return undefined;
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
      await pushImage(docker, remote, tag, auth, this.options.signal, this.saysEvery10s(`pushing ${remote}:${tag}`));
    }
    this.options.reporter.debug(`pushed ${remote}:${this.tag} and :latest`);
  }

  /**
   * A push or a pull says how far it is: a line every 10 s while it lasts
   * (pushes go on in the background, beside the steps: a line, not a live
   * status); one that ends sooner says nothing.
   */
  private saysEvery10s(what: string): (text: string) => void {
    let last = Date.now();
    return (text) => {
      const now = Date.now();
      if (now - last < 10_000) return;
      last = now;
      this.options.reporter.info(`${what}: ${text}`);
    };
  }

  /**
   * Logs in once (A10): with the credentials the docker CLI would use
   * (~/.docker/config.json: credHelpers, credsStore, auths), else with
   * REGISTRY_USERNAME / REGISTRY_PASSWORD.
   */
  login(): Promise<RegistryAuth | undefined> {
    this.auth ??= this.findAuth();
    return this.auth;
  }

  private async findAuth(): Promise<RegistryAuth | undefined> {
    const { reporter } = this.options;
    const host = this.options.hostname ?? '';
    const { username = '', password } = this.options;
    const settings: SavedCredentials | undefined =
      password === undefined ? undefined : { auth: { username, password, serveraddress: host }, origin: 'REGISTRY_USERNAME / REGISTRY_PASSWORD' };
    let saved: SavedCredentials | undefined;
    try {
      saved = await dockerCredentials(host, { env: this.options.env, runOptions: { signal: this.options.signal, debug: (line) => reporter.debug(line) } });
    } catch (error) {
      if (settings === undefined) {
        throw new VaubanError(`no credentials for the registry ${host}: ${(error as Error).message}, and no REGISTRY_PASSWORD`, { cause: error, hint: 'fix the docker config, or set REGISTRY_USERNAME and REGISTRY_PASSWORD' });
      }
      reporter.warn(`${(error as Error).message}: logging in to ${host} with REGISTRY_USERNAME / REGISTRY_PASSWORD instead`);
    }
    const chosen = saved ?? settings;
    if (chosen === undefined) {
      throw new VaubanError(`no REGISTRY_PASSWORD, and not logged in to the registry ${host}`, {
        hint: `set REGISTRY_USERNAME and REGISTRY_PASSWORD, or docker login ${host} first (its credential helper is used too)`,
      });
    }
    const { auth, origin } = chosen;
    // Whatever a later error or log line might echo of it is hidden.
    reporter.redactAlso([auth.password, auth.identitytoken ?? ''].filter((secret) => secret !== ''));
    try {
      await checkRegistryAuth(await this.options.docker(), auth);
    } catch (error) {
      const who = auth.username === '' ? 'an identity token' : auth.username;
      throw new VaubanError(`login to the registry ${host} as ${who} failed: ${(error as Error).message.split('\n')[0]} (credentials of ${origin})`, { cause: error });
    }
    reporter.debug(`registry ${host}: logged in as ${auth.username || 'an identity token'} with the credentials of ${origin}`);
    return auth;
  }
}

/** Where the registry keeps an image of vauban's (A10): `<REGISTRY_HOSTNAME>/vauban/<name>`, without its tag. */
export function registryImageName(hostname: string, image: string): string {
  return `${hostname}/vauban/${splitTag(image).repository}`;
}
