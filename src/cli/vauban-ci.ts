// `vauban-ci`: the ci.py replacement (A13). Reads config.yml, works out which
// `vauban` invocations a master and stage need, and runs them in order (or
// prints them, with debug). Driven by GitLab-CI variables or by flags.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { VaubanError } from '../errors.js';
import { chainDocument } from './run-invocations.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';

interface CiFlags {
  name?: string;
  stage?: string;
  branch?: string;
  buildParents?: string;
  /** commander's negated flag: false with --no-cache. */
  cache: boolean;
  debug?: boolean;
  json?: boolean;
  config: string;
  isoDir: string;
  release?: string;
  shard?: string;
  shards?: string;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'y', 'on'].includes(value.toLowerCase());
}

/** The commander program of `vauban-ci` (also read by the shell completion). */
export function buildCiProgram(): Command {
  return new Command('vauban-ci')
    .description('Build a master of config.yml with vauban, as GitLab-CI does (variables: name, stage, branch, build_parents, debug, staged, shards)')
    .option('--name <master>', 'the master to build, by key or name (env: name)')
    .option('--stage <stage>', 'rootfs, conffs, initramfs, all or promote (env: stage, else CI_JOB_STAGE)')
    .option('--branch <branch>', 'the ansible branch (env: branch; default: master, or the master\'s own branch)')
    .option('--build-parents <n>', 'build parents first: yes or -1 for all, N for N levels (env: build_parents)')
    .option('--no-cache', 'rebuild every image and artifact (env: no_cache; config.yml: configuration.no_cache)')
    .option('--debug', 'print the vauban invocations instead of running them (env: debug)')
    .option('--json', 'print one JSON document on stdout: each invocation with its command, exit status and vauban\'s own --json result (human lines go to stderr)')
    .option('--release <release|pipeline>', "the staged release the master's uploads join, made live by the promote stage; pipeline: named after the GitLab pipeline (env: release; staged=yes means pipeline)")
    .option('--shard <I/N>', "this job's share of the master's conffs hosts (env: CI_NODE_INDEX and CI_NODE_TOTAL, as GitLab's parallel: sets them)")
    .option('--shards <n>', 'for the promote stage: how many shards the conffs job was cut in, its parallel: (env: shards)')
    .option('--config <file>', 'the master tree', 'config.yml')
    .option('--iso-dir <dir>', 'where base files are looked up first', '/srv/iso');
}

interface CiCall extends CiFlags {
  /** --debug, or the variable debug: print the invocations instead of running them. */
  printOnly: boolean;
}

const ci: CommandDefinition<CiCall, void, 'nothing', false> = {
  name: 'vauban-ci',
  parse: (io) =>
    commanderParse(buildCiProgram, (program) => {
      const flags = program.opts<CiFlags>();
      return { ...flags, printOnly: flags.debug === true || truthy(io.env.debug) };
    })(io),
  debug: (flags) => flags.printOnly,
  json: (flags) => flags.json === true,
  failureDocument: (_flags, exitCode, reason) => chainDocument([], exitCode, reason),
  settings: false,
  plainOutput: true,
  needs: 'nothing',
  work: async ({ io, flags }) => {
    const json = flags.json === true;
    const { parseMasterTree } = await import('../config/master-tree.js');
    const { parseBuildParents, parseCiStage, planInvocations } = await import('../ci/plan-invocations.js');
    const name = flags.name ?? io.env.name;
    const stage = flags.stage ?? (io.env.stage || undefined) ?? io.env.CI_JOB_STAGE;
    if (!name) throw new VaubanError('no master given: set name=<master> or --name <master>');
    if (!stage) throw new VaubanError('no stage given: set stage=<rootfs|conffs|initramfs|all> or --stage');
    const configFile = path.resolve(io.cwd, flags.config);
    if (!existsSync(configFile)) throw new VaubanError(`${flags.config} not found in ${io.cwd}`);
    const tree = await parseMasterTree(readFileSync(configFile, 'utf8'), flags.config);
    const invocations = planInvocations(
      tree,
      {
        name,
        stage: parseCiStage(stage),
        branch: flags.branch ?? (io.env.branch || 'master'),
        buildParents: parseBuildParents(flags.buildParents ?? io.env.build_parents),
        noCache: !flags.cache || truthy(io.env.no_cache),
        ...(await stagedRelease(flags, io.env)),
      },
      { cwd: io.cwd, isoDir: flags.isoDir, exists: existsSync },
    );
    const { plannedResults, runInvocations } = await import('./run-invocations.js');
    if (invocations.length === 0) {
      io.stderr.write(`nothing to do for ${stage} of ${name} (no conffs key?)\n`);
      if (json) io.stdout.write(chainDocument([], 0, `nothing to do for ${stage} of ${name}`));
      return 0;
    }
    if (flags.printOnly) {
      if (json) io.stdout.write(chainDocument(plannedResults(invocations), 0, 'debug: nothing run'));
      else for (const invocation of plannedResults(invocations)) io.stdout.write(`${invocation.command}\n`);
      return 0;
    }
    const { installDir } = await import('../install-dir.js');
    return runInvocations(invocations, { vaubanBin: path.join(installDir(), 'bin', 'vauban.js'), io, json });
  },
};

/**
 * The staged release, the shard and the shards of a job (issue 29), from the
 * flags, else GitLab's variables: `release` (or `staged=yes`, the release
 * then named after the pipeline: its creation time and id, the same in every
 * job of it), CI_NODE_INDEX/CI_NODE_TOTAL of a `parallel:` job, `shards`.
 */
async function stagedRelease(flags: CiFlags, env: NodeJS.ProcessEnv): Promise<{ release?: string; shard?: { index: number; total: number }; shards?: number }> {
  const { parseShard } = await import('../model/shard.js');
  const { assertReleaseName, releaseName } = await import('../pxe/layout.js');
  let release = flags.release ?? (env.release || undefined) ?? (truthy(env.staged) ? 'pipeline' : undefined);
  if (release === 'pipeline') {
    const created = env.CI_PIPELINE_CREATED_AT;
    const id = env.CI_PIPELINE_ID;
    if (!created || !id || Number.isNaN(Date.parse(created))) throw new VaubanError('a release named after the pipeline needs CI_PIPELINE_CREATED_AT and CI_PIPELINE_ID (GitLab sets them): outside GitLab, give --release <name>');
    release = releaseName(new Date(created), `p${id}`);
  }
  if (release !== undefined) assertReleaseName(release);
  // GitLab sets CI_NODE_TOTAL to 1 in a job without parallel: (and CI_NODE_INDEX only with it).
  const parallel = env.CI_NODE_INDEX && env.CI_NODE_TOTAL && env.CI_NODE_TOTAL !== '1' ? `${env.CI_NODE_INDEX}/${env.CI_NODE_TOTAL}` : undefined;
  const shardText = flags.shard ?? parallel;
  const shardsText = flags.shards ?? (env.shards || undefined);
  if (shardsText !== undefined && !/^[1-9][0-9]*$/.test(shardsText)) throw new VaubanError(`shards '${shardsText}': expected the number of shards of the conffs job (its parallel:)`);
  return {
    ...(release === undefined ? {} : { release }),
    ...(shardText === undefined ? {} : { shard: parseShard(shardText) }),
    ...(shardsText === undefined ? {} : { shards: Number(shardsText) }),
  };
}

export function mainCi(io: CommandIo): Promise<number> {
  return runCommand(ci, io);
}
