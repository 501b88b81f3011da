// `vauban`: parse the command line, load the settings, then either print the
// plan (--dry-run) or run the pipeline, clean up, and print the recap.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { VaubanOptions } from '../model/options.js';
import type { Plan, PlanFacts } from '../model/plan.js';
import type { Context, RunResources } from '../context.js';
import type { LoadedSettings } from '../config/settings.js';
import type { Reporter } from '../reporter.js';
import { parseVaubanArgs } from './vauban-args.js';
import { runCommand, type CommandDefinition } from './shell.js';
import { failureDocument } from './version.js';
import { installDir as installDirOfPackage } from '../install-dir.js';
import type { CommandIo } from './io.js';

export async function main(io: CommandIo): Promise<number> {
  // `vauban boot|serve|promote|rollback|completion|list|clean|keygen ...` are commands of their own (B5, B6, B14, B16, issue 31); everything else is vauban.sh's command line.
  const rest = { ...io, argv: io.argv.slice(1) };
  switch (io.argv[0]) {
    case 'boot':
      return (await import('./vauban-boot.js')).mainBoot(rest);
    case 'serve':
      return (await import('./vauban-serve.js')).mainServe(rest);
    case 'promote':
    case 'rollback':
      return (await import('./vauban-release.js')).mainRelease(rest, io.argv[0]);
    case 'completion':
      return (await import('./vauban-completion.js')).mainCompletion(rest);
    case 'list':
      return (await import('./vauban-list.js')).mainList(rest);
    case 'clean':
      return (await import('./vauban-clean.js')).mainClean(rest);
    case 'keygen':
      return (await import('./vauban-keygen.js')).mainKeygen(rest);
  }
  return runCommand(build, io);
}

/** What the checks before a build settle: its plan and what the plan was made from. */
interface Prepared {
  plan: Plan;
  facts: PlanFacts;
  install: string;
  /** The run's context, once the work has made it: --json prints the plan as the run refined it. */
  ran: { ctx: Context | undefined };
}

const build: CommandDefinition<VaubanOptions, Prepared, 'session', true> = {
  name: 'vauban',
  parse: (io) => {
    let said = '';
    const parsed = parseVaubanArgs(io.argv, {
      out: (text) => io.stdout.write(text),
      err: (text) => {
        said += text;
        io.stderr.write(text);
      },
    });
    return parsed.kind === 'exit' ? { kind: 'exit', code: parsed.code, said } : { kind: 'run', flags: parsed.options, warnings: parsed.warnings };
  },
  debug: (options) => options.debug,
  // A dry run's --json is the plan, problems included: it is printed whatever they are.
  json: (options) => options.json && !options.dryRun,
  failureDocument: async (options, exitCode, reason) => {
    if (options === undefined) return failureDocument(installDirOfPackage(), exitCode, reason);
    const { unstartedRunToJson } = await import('./run-json.js');
    const { planRun } = await import('../model/plan.js');
    return unstartedRunToJson(options, planRun(options), exitCode, reason);
  },
  settings: true,
  prepare: ({ io, flags, reporter, settings }) => prepareBuild(io, flags, reporter, settings),
  needs: 'session',
  work: ({ io, flags, reporter, settings }, prepared, resources) => runBuild(io.cwd, flags, reporter, settings, prepared, resources),
  onFinish: async ({ io, flags: options, reporter }, prepared, outcome) => {
    if (!options.json) return;
    const { runToJson } = await import('./run-json.js');
    const { createDockerClient } = await import('../system/docker/client.js');
    const { imageId } = await import('../system/docker/images.js');
    const docker = await createDockerClient();
    const ctx = prepared.ran.ctx;
    // The plan as the run refined it (hosts, OS name): what the dry run says when it can know them.
    const json = await runToJson({ options, plan: ctx?.plan ?? prepared.plan, outcome, timings: reporter.timings, outputDir: io.cwd, runStamp: ctx?.runStamp, imageId: (name) => imageId(docker, name) });
    io.stdout.write(json);
  },
};

/** The build itself, in its session: the pipeline, with a context of the run. */
async function runBuild(cwd: string, options: VaubanOptions, reporter: Reporter, settings: LoadedSettings, prepared: Prepared, resources: RunResources): Promise<number> {
  const { Context } = await import('../context.js');
  const { runPipeline } = await import('../pipeline.js');
  const ctx = new Context({ options, settings, facts: prepared.facts, reporter, ...resources, cwd, installDir: prepared.install });
  prepared.ran.ctx = ctx;
  await runPipeline(ctx);
  return resources.report.hosts.some((host) => !host.ok) ? 1 : 0;
}

/** Everything a build checks before it acquires anything; a dry run ends here, with the plan printed. */
async function prepareBuild(io: CommandIo, options: VaubanOptions, reporter: Reporter, settings: LoadedSettings): Promise<Prepared | number> {
  const { planRun, settingsFacts } = await import('../model/plan.js');
  const { runProblems, toolProblems } = await import('./run-problems.js');
  const { installDir } = await import('../install-dir.js');
  const install = installDir();

  // What the plan is made from; the run refines it as facts arrive (Context.learn).
  let facts: PlanFacts = settingsFacts(settings.values);
  let plan = planRun(options, facts);
  // The base file's kind, read from its content: shown in the plan, or one clear problem before any work.
  const base = await inspectIsoOption(io, options, plan);
  if (base.kind !== undefined) {
    facts = { ...facts, baseKind: base.kind };
    plan = planRun(options, facts);
  }
  const problems = runProblems(options, settings, plan, { cwd: io.cwd, installDir: install, exists: existsSync });
  if (base.error !== undefined) problems.push({ message: base.error.message, hint: base.error.hint });
  // The programs vauban runs are found on its own PATH (src/system/run.ts passes it on).
  const { isInstalled } = await import('../system/which.js');
  problems.push(...toolProblems(options, plan, base.kind, (name) => isInstalled(name, process.env.PATH)));

  if (options.dryRun) {
    const { planToJson, planToText } = await import('./print-plan.js');
    const { lookUpForDryRun } = await import('./dry-run.js');
    const found = await lookUpForDryRun({ io, options, settings, installDir: install, facts, reporter, inputsOk: problems.length === 0 });
    if (found.interrupted !== undefined) return found.interrupted;
    plan = planRun(options, { ...facts, osName: found.cache.osName, hosts: found.hosts, hostsSelected: found.hostsSelected, ...(found.engineFiles === undefined ? {} : { engineFiles: found.engineFiles }) });
    const messages = [...problems.map((problem) => problem.message), ...found.problems];
    io.stdout.write(options.json ? planToJson(options, plan, messages, found.cache) : planToText(options, plan, messages, found.cache));
    return messages.length > 0 ? 1 : 0;
  }
  const [first] = problems;
  if (first !== undefined) {
    const others = first.setting === undefined ? [] : problems.slice(1).flatMap((problem) => (problem.setting === undefined ? [] : [problem.setting]));
    throw new VaubanError(`${first.message}${others.length > 0 ? ` (also missing: ${others.join(', ')})` : ''}`, { hint: first.hint });
  }
  if (plan.steps.length === 0) {
    reporter.info('nothing to do: every step is switched off');
    if (options.json) io.stdout.write((await import('./run-json.js')).unstartedRunToJson(options, plan, 0, 'nothing to do: every step is switched off'));
    return 0;
  }
  if (process.getuid?.() !== 0) {
    throw new VaubanError('vauban must run as root: it mounts file systems, attaches loop devices and talks to dockerd', {
      hint: 'run it with sudo, or use --dry-run to see the plan without root',
    });
  }
  return { plan, facts, install, ran: { ctx: undefined } };
}

/**
 * What the --iso file is, when a step will read it: its kind for the plan, or
 * the error that makes it unusable (an unknown kind, an ISO without
 * filesystem.squashfs...). Needs no root: it only reads the file.
 */
async function inspectIsoOption(io: CommandIo, options: VaubanOptions, plan: Plan): Promise<{ kind?: string; error?: VaubanError }> {
  if (options.iso === undefined || !plan.steps.some((step) => step.id === 'mount_iso')) return {};
  const file = path.resolve(io.cwd, options.iso);
  // A missing file is a problem of its own (runProblems).
  if (!existsSync(file)) return {};
  const { describeBaseKind, inspectBaseFile } = await import('../base/inspect-base-file.js');
  try {
    return { kind: describeBaseKind(await inspectBaseFile(file)) };
  } catch (error) {
    if (error instanceof VaubanError) return { error };
    throw error;
  }
}
