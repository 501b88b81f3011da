// The `vauban` command line, flag for flag the one of vauban.sh (A2), plus the
// options that go further (B1, B4). Parsing and the four argument checks are
// pure: they return options or an exit, and print through the given writers.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { VaubanError } from '../errors.js';
import { installDir } from '../install-dir.js';
import { addVersionOption } from './command.js';
import { OPTION_DEFAULTS, type Compression, type VaubanOptions } from '../model/options.js';
import { parseShard, type Shard } from '../model/shard.js';
import { assertImageReference, assertMasterName } from '../model/image-name.js';
import { isBranchName, parseStage } from '../model/stage.js';
import { isReleaseName } from '../model/release-name.js';
import { wholeInventoryPattern } from '../model/host-names.js';

export interface ArgsOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

export type ParseOutcome = { kind: 'run'; options: VaubanOptions; warnings: string[] } | { kind: 'exit'; code: number };

function yesNo(value: string): 'yes' | 'no' {
  if (value === 'yes' || value === 'no') return value;
  throw new InvalidArgumentError(`expected yes or no`);
}

function compression(value: string): Compression {
  if (value === 'xz' || value === 'zstd') return value;
  throw new InvalidArgumentError('expected xz or zstd');
}

function buildEngine(value: string): 'docker' | 'kubernetes' {
  if (value === 'docker' || value === 'kubernetes') return value;
  throw new InvalidArgumentError('expected docker or kubernetes');
}

function shardArgument(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.replace(/^--shard '[^']*': /, ''));
  }
}

function releaseArgument(value: string): string {
  if (!isReleaseName(value)) throw new InvalidArgumentError('expected a release name: letters, digits, . _ -, not beginning with . (e.g. 20261207T150000Z-pipeline1234)');
  return value;
}

function positiveInteger(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return Number(value);
}

/** The commander program of `vauban`; exported for the help text test. */
export function buildProgram(output: ArgsOutput): Command {
  const program = new Command('vauban')
    .description('Build master images (rootfs, conffs, kernel and initramfs) for PXE-booted Debian servers')
    .argument(
      '[stages...]',
      'the stages to add to this image: ansible playbooks to apply, each [<branch>@]<playbook>, e.g. pb_base.yml',
    )
    .option('-r, --rootfs <yes|no>', 'build the rootfs ?', yesNo, 'yes')
    .option('-i, --initramfs <yes|no>', 'build the kernel and initramfs ?', yesNo, 'yes')
    .option('-l, --conffs <yes|no>', 'build the conffs ?', yesNo, 'yes')
    .option('-u, --upload <yes|no>', 'upload the generated master to the PXE servers ?', yesNo, 'yes')
    .option('-f, --iso <path>', 'the base to build from: a Debian raw disk image, live ISO, qcow2, or one of them xz/zstd-compressed (no default)')
    .option('-s, --source-image <image>', 'the source image to use as a base (no default)')
    .option('-k, --ssh-priv-key <path>', 'the SSH private key giving read access to the Ansible repository', OPTION_DEFAULTS.sshPrivKey)
    .option('-n, --name <name>', 'the name of the image to be built', OPTION_DEFAULTS.name)
    .option('-b, --branch <branch>', 'the default ansible branch', OPTION_DEFAULTS.branch)
    .option(
      '-a, --ansible-host <pattern>',
      "the hosts to build conffs for, as ansible's --limit pattern (no default)",
    )
    .option('-d, --debian-release <release>', 'build the base with debootstrap from the Debian mirror (e.g. bookworm) instead of --iso')
    .addOption(
      new Option('--compression <xz|zstd>', 'squashfs compression of rootfs.img (default: xz, or SQUASHFS_COMPRESSION)').argParser(
        compression,
      ),
    )
    .addOption(
      new Option('-j, --conffs-parallel <n>', 'hosts whose conffs are built at once (default: 20, or CONFFS_PARALLEL)').argParser(
        positiveInteger,
      ),
    )
    // vauban v2's flags, so that its scripts run unchanged (issue 15).
    .option('-p, --kernel <yes|no>', 'vauban v2: build a custom kernel ? (not built here: the kernel is the base\'s, with -i)', yesNo, 'no')
    .addOption(new Option('-e, --build-engine <engine>', 'vauban v2: the build engine: docker (kubernetes is not supported yet)').argParser(buildEngine).default('docker'))
    .option('--kubernetes-no-cleanup <yes|no>', 'vauban v2: keep the kubernetes resources (unused with docker)', yesNo, 'no')
    .addOption(
      new Option('--shard <I/N>', 'build the conffs of share I of N of the hosts -a selects (by a stable hash of each name); a shard builds conffs only, uploaded with --release').argParser(shardArgument),
    )
    .addOption(
      new Option('--release <release>', 'upload as a share of the staged release <release> of the master (not live): `vauban promote <name> <release>` makes its shares live at once').argParser(releaseArgument),
    )
    .option('--no-cache', 'build every image and artifact again, even when one with the same inputs exists (see CACHE_MAX_AGE_DAYS)')
    .option('--dry-run', 'print the plan (steps, images, artifacts, uploads) and exit; needs neither root nor Docker', false)
    .option('--json', 'print the result of the run as JSON on stdout (human lines go to stderr); with --dry-run, the plan', false)
    .option('--debug', 'print every command run and full error chains', false)
    .option('--keep-failed', "a stage that fails leaves its container running, named in the error, to look inside with docker exec (remove it with docker rm -f)", false)
    .helpOption('-h, --help', 'prints help')
    .addHelpText(
      'after',
      [
        '',
        'Other commands (each with -h):',
        ...[
          ['vauban boot -n <master> -a <host>', 'PXE-boot a built master as a host under QEMU and check it'],
          ['vauban serve [--dir D] [--port P]', 'serve a PXE server folder (UPLOAD_DIR layout) over HTTP'],
          ['vauban promote <name> [<release>]', 'make a release live on every PXE server (or on none)'],
          ['vauban rollback <name>', 'make the release before the live one live again'],
          ['vauban completion bash|zsh|fish', 'print the shell completion of vauban and vauban-ci'],
        ].map(([command, what]) => `  ${(command as string).padEnd(36)}${what as string}`),
      ].join('\n'),
    )
    .showHelpAfterError(false)
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err });
  addVersionOption(program, installDir, output.out);
  return program;
}

interface RawFlags {
  rootfs: 'yes' | 'no';
  initramfs: 'yes' | 'no';
  conffs: 'yes' | 'no';
  upload: 'yes' | 'no';
  iso?: string;
  sourceImage?: string;
  sshPrivKey: string;
  name: string;
  branch: string;
  ansibleHost?: string;
  debianRelease?: string;
  compression?: Compression;
  conffsParallel?: number;
  kernel: 'yes' | 'no';
  buildEngine: 'docker' | 'kubernetes';
  /** commander's negated flag: false with --no-cache. */
  cache: boolean;
  dryRun: boolean;
  json: boolean;
  debug: boolean;
  keepFailed: boolean;
  shard?: Shard;
  release?: string;
}

/**
 * The first value that would widen or mislead what a run does, said in one
 * line; undefined when every value is fine. Values reach Ansible, git, ssh,
 * debootstrap and Docker: none may be read there as an option or as "all".
 */
function invalidValue(flags: RawFlags): string | undefined {
  const host = flags.ansibleHost;
  if (host !== undefined && host.trim() === '') {
    return "--ansible-host '' is empty: Ansible would read it as every host of the inventory; give a host, a group or a pattern";
  }
  if (host !== undefined && host.startsWith('-')) return `--ansible-host '${host}' begins with '-': Ansible would read it as an option`;
  const whole = host === undefined ? undefined : wholeInventoryPattern(host);
  if (whole !== undefined) {
    return `--ansible-host '${host}' ${whole}: Ansible would add every host of the inventory to it; name a host or a group first (web,!web01)`;
  }
  if (!isBranchName(flags.branch)) return `--branch '${flags.branch}' is not a git branch name (git check-ref-format --branch)`;
  if (flags.debianRelease !== undefined && !/^[a-z][a-z0-9-]*$/.test(flags.debianRelease)) {
    return `--debian-release '${flags.debianRelease}' is not a Debian release name such as bookworm`;
  }
  try {
    assertMasterName(flags.name, '--name');
    if (flags.sourceImage !== undefined) assertImageReference(flags.sourceImage, '--source-image');
  } catch (error) {
    if (error instanceof VaubanError) return error.message;
    throw error;
  }
  return undefined;
}

/** Parses `argv` (without node and the script) and applies the argument checks of A2, in order. */
export function parseVaubanArgs(argv: readonly string[], output: ArgsOutput): ParseOutcome {
  const program = buildProgram(output);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return { kind: 'exit', code: error.exitCode };
    throw error;
  }
  const flags = program.opts<RawFlags>();
  const fail = (message: string, withHelp = false): ParseOutcome => {
    output.err(`error: ${message}\n`);
    if (withHelp) output.err(program.helpInformation());
    return { kind: 'exit', code: 1 };
  };

  let stages;
  try {
    stages = program.processedArgs[0] as string[];
    stages = stages.map(parseStage);
  } catch (error) {
    if (error instanceof VaubanError) return fail(error.message);
    throw error;
  }
  if (flags.iso !== undefined && flags.debianRelease !== undefined) {
    return fail('--iso and --debian-release both name the base: give only one');
  }
  const invalid = invalidValue(flags);
  if (invalid !== undefined) return fail(invalid);
  // A shard builds its hosts' conffs and nothing else (issue 29): the steps left at their default are off, but its
  // upload, into a staged release (--release).
  if (flags.shard !== undefined) {
    for (const step of ['rootfs', 'initramfs', 'upload'] as const) {
      if (program.getOptionValueSource(step) === 'default') flags[step] = step === 'upload' && flags.release !== undefined ? 'yes' : 'no';
      else if (flags[step] === 'yes' && step !== 'upload') return fail(`--shard builds conffs only: --${step} yes is not for a shard (the master is built once, by its own job)`);
    }
    if (flags.upload === 'yes' && flags.release === undefined) {
      return fail("--shard uploads into a staged release only: give --release <release> (the same for every shard and the master's job), then `vauban promote <name> <release>`");
    }
    if (flags.conffs === 'no' || flags.ansibleHost === undefined) return fail('--shard selects conffs hosts: give -a <pattern> (and not -l no)');
    if (flags.sourceImage === undefined) return fail('--shard builds on the master: give it with -s');
  }
  if (flags.release !== undefined && flags.upload === 'no') return fail('--release names the staged release an upload joins: not with -u no');
  if (flags.buildEngine !== 'docker') {
    return fail(`--build-engine ${flags.buildEngine} is not supported yet: vauban builds with docker (the Docker Engine API, DOCKER_HOST for a remote engine); use -e docker or leave -e out`);
  }

  const options: VaubanOptions = {
    rootfs: flags.rootfs === 'yes',
    initramfs: flags.initramfs === 'yes',
    conffs: flags.conffs === 'yes',
    upload: flags.upload === 'yes',
    iso: flags.iso,
    debianRelease: flags.debianRelease,
    sourceImage: flags.sourceImage,
    sshPrivKey: flags.sshPrivKey,
    name: flags.name,
    branch: flags.branch,
    ansibleHost: flags.ansibleHost,
    stages,
    compression: flags.compression,
    conffsParallel: flags.conffsParallel,
    noCache: !flags.cache,
    dryRun: flags.dryRun,
    json: flags.json,
    debug: flags.debug,
    ...(flags.keepFailed ? { keepFailed: true } : {}),
    ...(flags.shard === undefined ? {} : { shard: flags.shard }),
    ...(flags.release === undefined ? {} : { release: flags.release }),
  };
  const hasBase = options.iso !== undefined || options.debianRelease !== undefined;
  const warnings: string[] = [];
  if (flags.kernel === 'yes') {
    warnings.push("--kernel yes (vauban v2): no custom kernel is built; the kernel is the base's newest linux-image-amd64, built with the initramfs (-i)");
  }

  // The four checks of vauban.sh, in its order.
  if (options.rootfs && !hasBase && options.sourceImage === undefined) {
    return fail("you're trying to build a rootfs (an image) without giving me a base!\nYou must provide an ISO or raw file (--iso), a Debian release to debootstrap (--debian-release), or the name of another image to be used as a base (--source-image)\n", true);
  }
  if (options.conffs && options.ansibleHost === undefined) {
    warnings.push("won't build the conffs: --ansible-host not provided");
    options.conffs = false;
  }
  if (options.conffs && !options.rootfs && options.sourceImage === undefined) {
    return fail("can't build conffs from an ISO only, without building the rootfs: specify a source image with -s");
  }
  if (options.initramfs && !hasBase) {
    return fail('building the initramfs requires an iso (--iso or --debian-release) to get the kernel and kernel modules from');
  }
  return { kind: 'run', options, warnings };
}
