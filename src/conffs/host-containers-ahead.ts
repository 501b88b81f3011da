// Host containers started before the hosts are known (issue 11): when -a
// names its hosts one by one (`web01,web02`), their containers are created
// and booted while the preflight's controller loads Ansible and resolves the
// pattern, rather than after. A host of the resolution takes its own (its log
// then gets the lines of its start); a name that was no host (a group, say) or
// a host whose conffs is reused leaves its container unused, removed at the
// end of build_conffs. Only for hosts that will surely be built: --no-cache,
// or no conffs of theirs from an earlier run (a reused one needs no container).
import type { Context } from '../context.js';
import { assertHostName } from '../model/host-names.js';
import { throwIfAborted } from '../errors.js';
import { lastConffsOf } from './decision.js';
import { StageContainer } from '../ansible/stage-container.js';
import { hostsOfShard } from '../model/shard.js';

interface Ahead {
  container: Promise<StageContainer>;
  /** From now on the container's lines go to `onLine` (those so far first). */
  adopt: (onLine: (line: string) => void) => void;
}

/** The names of a pattern that lists host names only (no wildcard, range, group operator or exclusion); else none. */
export function listedHostNames(pattern: string): string[] {
  const names = pattern
    .split(/[,:]/)
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.some((name) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))) return [];
  return [...new Set(names)].filter((name) => !name.startsWith('master-'));
}

export class HostContainersAhead {
  private readonly ahead = new Map<string, Ahead>();

  private constructor(
    private readonly ctx: Context,
    private readonly image: string,
  ) {}

  /**
   * Starts a container of `image` for each host `pattern` lists that will
   * surely be built (at most CONFFS_PARALLEL), once `after` settles (the
   * controller's own start goes first: the hosts wait for it, not for theirs).
   */
  static start(ctx: Context, image: string, pattern: string, after: Promise<void>): HostContainersAhead {
    const started = new HostContainersAhead(ctx, image);
    const names = listedHostNames(pattern).filter((name) => {
      try {
        assertHostName(name);
      } catch {
        return false;
      }
      // A shard starts only its own hosts' containers.
      if (ctx.options.shard !== undefined && hostsOfShard([name], ctx.options.shard).length === 0) return false;
      return ctx.options.noCache || lastConffsOf(ctx.outputDir, name) === undefined;
    });
    if (names.length > ctx.conffsParallel) return started;
    for (const name of names) {
      const lines: string[] = [];
      let sink: (line: string) => void = (line) => void lines.push(line);
      const container = after.then(() => StageContainer.open(ctx, { image, hostname: name, onLine: (line) => sink(line), committed: false }));
      // The run's cleanup waits for the start to settle: a container made meanwhile is then removed too.
      ctx.cleanup.background(`the container started ahead for ${name}`, container.then(ignore, ignore));
      const adopt = (onLine: (line: string) => void) => {
        for (const line of lines.splice(0)) onLine(line);
        sink = onLine;
      };
      started.ahead.set(name, { container, adopt });
    }
    return started;
  }

  /** The container started ahead for `host` (a new one if its start failed), or undefined: none was. */
  take(host: string, onLine: (line: string) => void): Promise<StageContainer> | undefined {
    const ahead = this.ahead.get(host);
    if (ahead === undefined) return undefined;
    this.ahead.delete(host);
    ahead.adopt(onLine);
    return ahead.container.catch((error: unknown) => {
      throwIfAborted(this.ctx.signal);
      onLine(`the container started ahead for ${host} failed (${(error as Error).message}): starting another`);
      return StageContainer.open(this.ctx, { image: this.image, hostname: host, onLine, committed: false });
    });
  }

  /** Removes the containers no host took (in the background: the run waits for it before it ends). */
  discard(): void {
    for (const [name, ahead] of this.ahead) {
      this.ctx.cleanup.background(
        `removal of the container started ahead for ${name}`,
        ahead.container.then((container) => container.close(), ignore),
      );
    }
    this.ahead.clear();
  }
}

const ignore = (): void => undefined;
