// The one object every step receives: the run's options, settings, plan,
// output, cleanup stack and where things go. Derived paths are getters; there
// is no module-level state anywhere else.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CachePolicy } from './cache/decide.js';
import type { ImageCacheAccess } from './cache/decide-image.js';
import type { LoadedSettings } from './config/settings.js';
import type { VaubanOptions, Compression } from './model/options.js';
import { planRun, type Plan, type PlanFacts, type StepId } from './model/plan.js';
import type { Reporter } from './reporter.js';
import type { RunReport } from './model/run-report.js';
import { AnsibleRepository } from './ansible/repository.js';
import type { CleanupStack } from './system/cleanup.js';
import { createDockerClient, type DockerClient } from './system/docker/client.js';
import { ansibleRemote } from './ansible/remote.js';
import { KEPT_MIRROR, VAULT_DIR, runStamp } from './model/local-layout.js';
import { ensurePrivateDir } from './system/log-file.js';
import type { RunOptions } from './system/run.js';
import { Registry } from './registry.js';
import { INSTALL_FILES } from './install-dir.js';
import { installDigest } from './cache/inputs.js';
import { cachePolicyOf, settleRunValues, type RunValues } from './model/run-values.js';
import { runIdOf } from './system/work-dir.js';
import type { KeyVault } from './vault/sshd-keys.js';
import { PROJECT_KEY_FILE, projectKeyFile, projectSigner, readProjectKey, type ProjectKey, type ProjectSigner } from './vault/project-key.js';

/** What a run holds while it works: its cleanup stack, its report, its abort signal, its private work folder. */
export interface RunResources {
  cleanup: CleanupStack;
  report: RunReport;
  signal: AbortSignal;
  /** The run's private work folder (removed at the end). */
  workDir: string;
}

export interface ContextInit {
  options: VaubanOptions;
  settings: LoadedSettings;
  /** What the plan is made from besides the options (planRun); the plan is refined as the run learns more (learn()). */
  facts?: PlanFacts;
  reporter: Reporter;
  cleanup: CleanupStack;
  report: RunReport;
  signal: AbortSignal;
  /** The working directory: config, vault/, .secrets.env and the outputs live here (as with vauban.sh). */
  cwd: string;
  /** Where this project is installed: Dockerfile.base, Dockerfile.stages, modules.d/, dracut.conf. */
  installDir: string;
  /** The run's private work folder (removed at the end). */
  workDir: string;
  startedAt?: Date;
}

export class Context {
  readonly options: VaubanOptions;
  readonly settings: LoadedSettings;
  readonly reporter: Reporter;
  readonly cleanup: CleanupStack;
  readonly report: RunReport;
  readonly signal: AbortSignal;
  readonly cwd: string;
  readonly installDir: string;
  readonly workDir: string;
  readonly startedAt: Date;
  /** What the run derives from its options and settings, settled once. */
  readonly values: RunValues;
  private currentPlan: Plan;
  private readonly installDigests = new Map<keyof typeof INSTALL_FILES, string>();
  private planFacts: PlanFacts;
  private dockerClient: Promise<DockerClient> | undefined;
  private readonly memos = new Map<string, Promise<unknown>>();
  private ansibleRepository: AnsibleRepository | undefined;
  private registryClient: Registry | undefined;
  private privateLogDir: string | undefined;

  constructor(init: ContextInit) {
    this.options = init.options;
    this.settings = init.settings;
    this.planFacts = init.facts ?? {};
    this.currentPlan = planRun(this.options, this.planFacts);
    this.reporter = init.reporter;
    this.cleanup = init.cleanup;
    this.report = init.report;
    this.signal = init.signal;
    this.cwd = init.cwd;
    this.installDir = init.installDir;
    this.workDir = init.workDir;
    this.startedAt = init.startedAt ?? new Date();
    this.values = settleRunValues(this.options, this.settings.values);
  }

  /** What the run will do; refined as facts arrive (learn()). */
  get plan(): Plan {
    return this.currentPlan;
  }

  /**
   * The plan made again with what the run has learned (the OS name once the
   * base is imported, the conffs hosts once resolved): the steps read the
   * names of what they make from it, and what --json prints is what the dry
   * run would have said knowing them. Which steps run does not depend on
   * these facts.
   */
  learn(facts: PlanFacts): void {
    this.planFacts = { ...this.planFacts, ...facts };
    this.currentPlan = planRun(this.options, this.planFacts);
  }

  /** The run's Docker client, created on first use. */
  docker(): Promise<DockerClient> {
    if (this.dockerClient === undefined) {
      const client = createDockerClient();
      this.dockerClient = client;
      // Pushed under everything the run will create with it, so it runs last.
      this.cleanup.push('containers named for this run', async () => {
        const { removeRunContainers } = await import('./system/docker/containers.js');
        for (const name of await removeRunContainers(await client, this.runId)) this.reporter.warn(`removed container ${name}, left by an interrupted request`);
      });
    }
    return this.dockerClient;
  }

  /** The cgroup version of the engine's host (not ours: DOCKER_HOST may be remote), asked once. */
  engineCgroupVersion(): Promise<string> {
    return this.once('engine-cgroup-version', async () => ((await (await this.docker()).info()) as { CgroupVersion?: string }).CgroupVersion ?? '1');
  }

  /** What `compute` gives for `key`, computed once per run (facts of an image shared by every host built on it). */
  once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let memo = this.memos.get(key) as Promise<T> | undefined;
    if (memo === undefined) {
      memo = compute();
      this.memos.set(key, memo);
    }
    return memo;
  }

  /** The Ansible repository, fetched on first use. */
  get ansible(): AnsibleRepository {
    this.ansibleRepository ??= new AnsibleRepository({
      remote: ansibleRemote(this.settings.values, this.deployKey, this.workDir),
      workDir: this.workDir,
      // A dry run leaves the project as it found it.
      ...(this.options.dryRun ? {} : { keptMirror: this.output(KEPT_MIRROR) }),
      rootDir: this.settings.values.ANSIBLE_ROOT_DIR,
      runOptions: this.runOptions,
    });
    return this.ansibleRepository;
  }

  /** The registry side of the run (A10); local-only without REGISTRY_HOSTNAME. */
  get registry(): Registry {
    const values = this.settings.values;
    this.registryClient ??= new Registry({
      hostname: values.REGISTRY_HOSTNAME,
      username: values.REGISTRY_USERNAME,
      password: values.REGISTRY_PASSWORD,
      startedAt: this.startedAt,
      docker: () => this.docker(),
      reporter: this.reporter,
      signal: this.signal,
      env: process.env,
      projectKey: () => this.projectKey(),
      trusted: values.REGISTRY_TRUSTED === 'yes',
    });
    return this.registryClient;
  }

  /** The project's public key (B19), what checks a registry image or a release; undefined when the vault has none. */
  projectKey(): Promise<ProjectKey | undefined> {
    return this.once('project-key', async () => (await this.projectSigner()) ?? (await readProjectKey(this.vaultDir)));
  }

  /**
   * The image `id` a build of the run just made as `tag`, signed with the
   * project's key (issue 30: what lets another run reuse it from the
   * registry); `id` itself when the run has no signer.
   */
  async signBuild(id: string, tag: string): Promise<string> {
    const signer = await this.projectSigner();
    if (signer === undefined) return id;
    const { signImage } = await import('./cache/vouch.js');
    return signImage(await this.docker(), { id, tag, signer, signal: this.signal });
  }

  /**
   * The project's signer (B19): the vault's signing key (vauban keygen),
   * decrypted; undefined when the project has none, or the run no
   * VAULTED_SSHD_KEYS_KEY: then what the run builds is not signed (said once).
   */
  projectSigner(): Promise<ProjectSigner | undefined> {
    return this.once('project-signer', async () => {
      if (!existsSync(projectKeyFile(this.vaultDir))) {
        this.reporter.warn(`the project has no signing key (${path.join(VAULT_DIR, PROJECT_KEY_FILE)}): images and releases are not signed, and no image of the registry is reused by its inputs (vauban keygen makes one; see "What the boot trusts")`);
        return undefined;
      }
      const passphrase = this.settings.values.VAULTED_SSHD_KEYS_KEY;
      if (passphrase === undefined || passphrase === '') {
        this.reporter.warn('no VAULTED_SSHD_KEYS_KEY: what this run builds is not signed with the project key (other runs will not reuse its images from the registry)');
        return undefined;
      }
      return projectSigner(this.vaultDir, passphrase);
    });
  }

  /** The vault of sshd keys (A11): new entries are said, and listed for CI's commit. */
  get keyVault(): KeyVault {
    return {
      dir: this.vaultDir,
      passphrase: this.settings.values.VAULTED_SSHD_KEYS_KEY ?? '',
      runOptions: this.runOptions,
      onNewEntry: (file, id) => {
        this.report.newVaultEntries.push(file);
        this.reporter.info(`generated sshd keys for ${id}, stored in ${file}`);
      },
    };
  }

  /** The deploy key file (-k), relative to the working directory. */
  get deployKey(): string {
    return path.resolve(this.cwd, this.options.sshPrivKey);
  }

  /** What every external command of the run gets: the abort signal and the debug log. */
  get runOptions(): RunOptions {
    return { signal: this.signal, debug: this.debug };
  }

  /** A short id of this run, for names of containers and temporary files. */
  get runId(): string {
    return runIdOf(this.workDir);
  }

  /** True when the plan has this step. */
  runs(step: StepId): boolean {
    return this.plan.steps.some((planned) => planned.id === step);
  }

  get outputDir(): string {
    return this.cwd;
  }

  get vaultDir(): string {
    return path.join(this.cwd, VAULT_DIR);
  }

  /** A path of src/model/local-layout.ts (relative to the output folder), as a path of this machine. */
  output(relative: string): string {
    return path.join(this.outputDir, relative);
  }

  /**
   * Per-host conffs logs (A7): a folder of root only, 0700 (VAUBAN_LOG_DIR,
   * default /var/log/vauban), made and checked on first use. Open files in it
   * with openLogFile (src/system/log-file.ts): 0600, no link followed, redacted.
   */
  get logDir(): string {
    this.privateLogDir ??= ensurePrivateDir(this.settings.values.VAUBAN_LOG_DIR ?? '/var/log/vauban');
    return this.privateLogDir;
  }

  /** ISO 8601 time of the run's start, safe in file names. */
  get runStamp(): string {
    return runStamp(this.startedAt);
  }

  get compression(): Compression {
    return this.values.compression;
  }

  /** When an image or artifact with unchanged inputs is reused (issue 12): --no-cache, CACHE_MAX_AGE_DAYS (default 7). */
  /** What the images' reuse decisions read of the run (cache/decide-image.ts). */
  get imageCache(): ImageCacheAccess {
    return { docker: () => this.docker(), cachePolicy: this.cachePolicy, registry: this.registry, debug: (line) => this.reporter.debug(line) };
  }

  get cachePolicy(): CachePolicy {
    return cachePolicyOf(this.values, this.startedAt);
  }

  get conffsParallel(): number {
    return this.values.conffsParallel;
  }

  /** The digest of some of vauban's own files (INSTALL_FILES), read once per run. */
  installDigest(files: keyof typeof INSTALL_FILES): string {
    let digest = this.installDigests.get(files);
    if (digest === undefined) {
      digest = installDigest(this.installDir, INSTALL_FILES[files]);
      this.installDigests.set(files, digest);
    }
    return digest;
  }

  /** Passes a command's debug line to the reporter. */
  readonly debug = (message: string): void => this.reporter.debug(message);
}
