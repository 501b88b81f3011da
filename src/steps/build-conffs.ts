// build_conffs (A6, A7): for each host of the --ansible-host pattern, the
// stages replayed as that host on the source image, then the union of the
// layers those stages produced (their overlay2 folders, mounted as one
// overlay), packed as overlayfs/overlayfs-<host>/conffs-<host>.tgz with the
// host's sshd keys. Hosts are built in parallel (bounded); a failing host does
// not stop the others, but fails the run once they are done.
import { createWriteStream, mkdirSync, renameSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { VaubanError, throwIfAborted } from '../errors.js';
import type { HostResult } from '../run-report.js';
import { sshdKeysFor } from '../sshd-keys.js';
import { imageLayers, mountLayers } from '../system/docker/layers.js';
import { run } from '../system/run.js';
import { findWhiteouts } from '../system/whiteouts.js';
import { installHostKeys } from '../vault.js';
import { applyStagesAs } from './apply-stages.js';
import { applyToSlash } from './build-rootfs.js';
import type { ConffsArtifact } from './types.js';

/** Left out of every conffs (A6). */
const EXCLUDED = ['var/log', 'var/cache', 'root/ansible'];

export interface ConffsInput {
  source: string | undefined;
  prefix: string | undefined;
  /** Resolved by the preflight (A7). */
  hosts: string[] | undefined;
}

export async function buildConffs(ctx: Context, input: ConffsInput): Promise<ConffsArtifact[] | undefined> {
  const { source, prefix, hosts } = input;
  if (!ctx.runs('build_conffs') || source === undefined || prefix === undefined || hosts === undefined) return undefined;
  ctx.reporter.info(`building conffs for ${hosts.length} host(s): ${hosts.join(' ')}`);

  mkdirSync(ctx.logDir, { recursive: true });
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(ctx.conffsParallel);
  const artifacts: ConffsArtifact[] = [];
  const counts = { done: 0, failed: 0, running: 0 };

  await ctx.reporter.step(`build_conffs: ${hosts.length} host(s), ${ctx.conffsParallel} at a time`, async (status) => {
    const show = () => status.update(`${counts.done} done, ${counts.failed} failed, ${counts.running} running, of ${hosts.length}`);
    // allSettled: on Ctrl-C every host's work has stopped before the cleanup runs.
    const settled = await Promise.allSettled(
      hosts.map((host) =>
        limit(async () => {
          // Hosts still queued when the run is interrupted never start.
          throwIfAborted(ctx.signal);
          counts.running++;
          show();
          const log = path.join(ctx.logDir, `${prefix}-${host}-${ctx.runStamp}`);
          const result: HostResult = { host, ok: false, log };
          ctx.report.hosts.push(result);
          const logStream = createWriteStream(log);
          try {
            const artifact = await buildHostConffs(ctx, { host, source, prefix, logStream, result });
            artifacts.push(artifact);
            result.ok = true;
            counts.done++;
          } catch (error) {
            if (ctx.signal.aborted) throw error;
            result.error = (error as Error).message;
            logStream.write(`\nFAILED: ${result.error}\n`);
            counts.failed++;
          } finally {
            counts.running--;
            await new Promise<void>((resolve) => logStream.end(resolve));
            show();
            ctx.reporter.info(`${result.ok ? '[OK]' : '[KO]'} ${host} (log: ${log})`);
          }
        }),
      ),
    );
    throwIfAborted(ctx.signal);
    const unexpected = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (unexpected) throw unexpected.reason;
  });
  for (const host of ctx.report.hosts) {
    for (const deleted of host.deletions ?? []) ctx.reporter.warn(`${host.host}: a stage deleted /${deleted}; a conffs cannot carry a deletion`);
  }
  if (counts.failed > 0) {
    throw new VaubanError(`conffs failed for ${counts.failed} of ${hosts.length} host(s): ${ctx.report.hosts.filter((one) => !one.ok).map((one) => one.host).join(', ')}`);
  }
  return artifacts.sort((a, b) => a.host.localeCompare(b.host));
}

interface HostInput {
  host: string;
  source: string;
  prefix: string;
  logStream: WriteStream;
  result: HostResult;
}

async function buildHostConffs(ctx: Context, input: HostInput): Promise<ConffsArtifact> {
  const { host, source, prefix, logStream } = input;
  const write = (line: string) => logStream.write(`${line}\n`);
  const finalName = `${prefix}/${host}`;
  await applyStagesAs(ctx, { source, prefix, stages: ctx.options.stages, hostname: host, finalName, host, onLine: write });

  // The layers the host's stages made: those of its image above the source's.
  const docker = await ctx.docker();
  const [own, below] = await Promise.all([imageLayers(docker, finalName), imageLayers(docker, source)]);
  const count = own.dirs.length - below.dirs.length;
  if (count < 0 || own.dirs.slice(count).join(':') !== below.dirs.join(':')) {
    throw new VaubanError(`image ${finalName} is not built on ${source}: cannot tell its own layers`);
  }
  const layers = own.dirs.slice(0, count);
  input.result.deletions = findWhiteouts(layers).filter((file) => !EXCLUDED.some((excluded) => file === excluded || file.startsWith(`${excluded}/`)));
  for (const deleted of input.result.deletions) write(`WARNING: the stages deleted /${deleted}: a conffs cannot carry a deletion`);

  const scratch = path.join(ctx.workDir, 'conffs', host);
  const merged = path.join(scratch, 'merged');
  const empty = path.join(scratch, 'empty');
  mkdirSync(empty, { recursive: true });
  // An empty bottom layer: an overlay needs one even when the stages made none.
  const release = await mountLayers(
    { layers: [...layers, empty], target: merged, upper: path.join(scratch, 'upper'), work: path.join(scratch, 'work') },
    ctx.cleanup,
    ctx.runOptions,
  );
  try {
    applyToSlash(merged);
    installHostKeys(merged, await sshdKeysFor(ctx, host));
    const folder = path.join(ctx.overlayfsDir, `overlayfs-${host}`);
    mkdirSync(folder, { recursive: true });
    // At the end of the run the folder is renamed <time>-overlayfs-<host> (A12): never uploaded twice.
    ctx.cleanup.push(`conffs folder of ${host}`, async () => renameSync(folder, path.join(ctx.overlayfsDir, `${ctx.runStamp}-overlayfs-${host}`)));
    const tarball = path.join(folder, `conffs-${host}.tgz`);
    const temporary = `${tarball}.tmp`;
    await run(
      'tar',
      ['--create', '--gzip', `--file=${temporary}`, '--numeric-owner', `--directory=${merged}`, ...EXCLUDED.map((dir) => `--exclude=./${dir}`), '.'],
      ctx.runOptions,
    );
    renameSync(temporary, tarball);
    write(`conffs written: ${tarball}`);
    return { host, tarball, folder };
  } finally {
    await release();
  }
}
