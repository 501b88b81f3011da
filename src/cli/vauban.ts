// `vauban`: parse the command line, load the settings, then either print the
// plan (--dry-run) or run the pipeline, clean up, and print the recap.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { VaubanOptions } from '../options.js';
import type { Plan, PlanFacts } from '../plan.js';
import { parseVaubanArgs } from './vauban-args.js';
import { describeFailure } from './fail.js';
import { documentHeader } from './version.js';
import { installDir as installDirOfPackage } from '../install-dir.js';

export interface MainIo {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export async function main(io: MainIo): Promise<number> {
  // `vauban boot|serve|promote|rollback|completion ...` are commands of their own (B5, B6, B14, B16); everything else is vauban.sh's command line.
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
  }
  let said = '';
  const parsed = parseVaubanArgs(io.argv, {
    out: (text) => io.stdout.write(text),
    err: (text) => {
      said += text;
      io.stderr.write(text);
    },
  });
  if (parsed.kind === 'exit') {
    // --json answers a usage error too: a script reads why from stdout, as for any other failure (issue 31).
    if (parsed.code !== 0 && io.argv.includes('--json')) io.stdout.write(usageErrorDocument(parsed.code, said));
    return parsed.code;
  }
  const { options, warnings } = parsed;

  // Everything below is loaded only when there is work to do: `vauban -h` stays fast.
  const { createReporter } = await import('./command.js');
  const reporter = await createReporter(io, options.debug);
  for (const warning of warnings) reporter.warn(warning);

  try {
    return await runCommand(io, options, reporter);
  } catch (error) {
    const failure = describeFailure(error, options.debug);
    io.stderr.write(`${failure.text}\n`);
    if (options.json && !options.dryRun) {
      const { unstartedRunToJson } = await import('./run-json.js');
      const { planRun } = await import('../plan.js');
      io.stdout.write(unstartedRunToJson(options, planRun(options), failure.exitCode, failure.text.split('\n')[0]?.replace(/^error: /, '') ?? ''));
    }
    return failure.exitCode;
  }
}

async function runCommand(io: MainIo, options: VaubanOptions, reporter: import('../reporter.js').Reporter): Promise<number> {
  const { loadSettings } = await import('../config/settings.js');
  const { planRun, settingsFacts } = await import('../plan.js');
  const { runProblems, toolProblems } = await import('./run-problems.js');
  const { installDir } = await import('../install-dir.js');
  const install = installDir();

  const settings = await loadSettings({ env: io.env, cwd: io.cwd });
  reporter.redactAlso(settings.secrets);
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
    plan = planRun(options, { ...facts, osName: found.cache.osName, hosts: found.hosts });
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

  const { Context } = await import('../context.js');
  let ran: InstanceType<typeof Context> | undefined;
  const { runPipeline } = await import('../pipeline.js');
  const { runSession } = await import('./session.js');
  return runSession({
    io,
    settings,
    reporter,
    debug: options.debug,
    command: `vauban ${io.argv.join(' ')}`,
    work: async ({ cleanup, report, signal, workDir }) => {
      const ctx = new Context({ options, settings, facts, reporter, cleanup, report, signal, cwd: io.cwd, installDir: install, workDir });
      ran = ctx;
      await runPipeline(ctx);
      return report.hosts.some((host) => !host.ok) ? 1 : 0;
    },
    onFinish: options.json
      ? async (outcome) => {
          const { runToJson } = await import('./run-json.js');
          const { createDockerClient } = await import('../system/docker/client.js');
          const { imageId } = await import('../system/docker/images.js');
          const docker = await createDockerClient();
          // The plan as the run refined it (hosts, OS name): what the dry run says when it can know them.
          const json = await runToJson({ options, plan: ran?.plan ?? plan, outcome, timings: reporter.timings, outputDir: io.cwd, runStamp: ran?.runStamp, imageId: (name) => imageId(docker, name) });
          io.stdout.write(json);
        }
      : undefined,
  });
}

/**
 * What the --iso file is, when a step will read it: its kind for the plan, or
 * the error that makes it unusable (an unknown kind, an ISO without
 * filesystem.squashfs...). Needs no root: it only reads the file.
 */
async function inspectIsoOption(io: MainIo, options: VaubanOptions, plan: Plan): Promise<{ kind?: string; error?: VaubanError }> {
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

/** The --json document of a command line refused before anything was planned. */
function usageErrorDocument(code: number, said: string): string {
  const reason = /^error: (.*)$/m.exec(said)?.[1] ?? said.trim().split('\n')[0] ?? 'usage error';
  return `${JSON.stringify({ ...documentHeader(installDirOfPackage()), result: { ok: false, exit_code: code, exit_reason: reason } }, null, 2)}\n`;
}
