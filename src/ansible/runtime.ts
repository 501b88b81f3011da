// What the Ansible machinery (stage containers, play controllers, the conffs
// hosts' containers started ahead) uses of a run: the engine, the repository,
// the settings and the run's cleanup, signal, output and name. The run's
// Context is one; a test or another command can give its own (issue 26:
// domain code takes what it uses, not the whole Context).
import type { LoadedSettings } from '../config/settings.js';
import type { Reporter } from '../reporter.js';
import type { CleanupStack } from '../system/cleanup.js';
import type { DockerClient } from '../system/docker/client.js';
import type { AnsibleRepository } from './repository.js';

export interface AnsibleRuntime {
  docker(): Promise<DockerClient>;
  /** The engine's cgroup version ("1" or "2"): how a stage container's systemd is given its cgroups. */
  engineCgroupVersion(): Promise<string>;
  readonly ansible: AnsibleRepository;
  readonly settings: LoadedSettings;
  readonly reporter: Reporter;
  readonly cleanup: CleanupStack;
  readonly signal: AbortSignal;
  /** The run's id: in the names of the containers it makes, so that it removes its own only. */
  readonly runId: string;
  /** Where stage.sh, play/ and the install files are. */
  readonly installDir: string;
  /** A value computed once per run under `key` (an image's init, a message said once). */
  once<T>(key: string, compute: () => Promise<T>): Promise<T>;
}
