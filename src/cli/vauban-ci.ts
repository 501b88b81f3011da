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
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'y', 'on'].includes(value.toLowerCase());
}

/** The commander program of `vauban-ci` (also read by the shell completion). */
export function buildCiProgram(): Command {
  return new Command('vauban-ci')
    .description('Build a master of config.yml with vauban, as GitLab-CI does (variables: name, stage, branch, build_parents, debug)')
    .option('--name <master>', 'the master to build, by key or name (env: name)')
    .option('--stage <stage>', 'rootfs, conffs, initramfs or all (env: stage, else CI_JOB_STAGE)')
    .option('--branch <branch>', 'the ansible branch (env: branch; default: master, or the master\'s own branch)')
    .option('--build-parents <n>', 'build parents first: yes or -1 for all, N for N levels (env: build_parents)')
    .option('--no-cache', 'rebuild every image and artifact (env: no_cache; config.yml: configuration.no_cache)')
    .option('--debug', 'print the vauban invocations instead of running them (env: debug)')
    .option('--json', 'print one JSON document on stdout: each invocation with its command, exit status and vauban\'s own --json result (human lines go to stderr)')
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

export function mainCi(io: CommandIo): Promise<number> {
  return runCommand(ci, io);
}
