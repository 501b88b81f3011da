// What the shell completion knows of vauban's commands: their options, read
// from the same commander programs that parse them (so the two cannot
// drift), and what each option's value can be.
import type { Command, Option } from 'commander';

/** What an option's value (or a positional argument) is completed with. */
export type ValueKind =
  | { kind: 'choices'; choices: string[] }
  | { kind: 'file' }
  | { kind: 'dir' }
  /** Master names of config.yml in the working directory. */
  | { kind: 'masters' }
  /** Branches of the Ansible repository, when a working copy is at hand. */
  | { kind: 'branches' }
  /** `[<branch>@]<playbook>` of the Ansible repository. */
  | { kind: 'stages' }
  /** A value nothing can guess (a number, a pattern). */
  | { kind: 'free' };

export interface OptionSpec {
  short?: string;
  long: string;
  description: string;
  /** Undefined for a flag. */
  value?: ValueKind;
}

export interface CommandSpec {
  /** As typed: `vauban`, `vauban-ci`, `vauban boot`. */
  name: string;
  options: OptionSpec[];
  /** What the words that are not options are. */
  positional?: ValueKind;
  subcommands?: CommandSpec[];
}


/** The value of an option by its name, when its placeholder says nothing (`<a|b>` says the choices). */
const VALUES_BY_OPTION: Record<string, ValueKind> = {
  '--iso': { kind: 'file' },
  '--ssh-priv-key': { kind: 'file' },
  '--config': { kind: 'file' },
  '--serial-log': { kind: 'file' },
  '--dir': { kind: 'dir' },
  '--iso-dir': { kind: 'dir' },
  '--name': { kind: 'masters' },
  '--source-image': { kind: 'masters' },
  '--branch': { kind: 'branches' },
  '--stage': { kind: 'choices', choices: ['rootfs', 'conffs', 'initramfs', 'all', 'promote'] },
  '--build-parents': { kind: 'choices', choices: ['yes', '-1', '0', '1', '2'] },
  '--debian-release': { kind: 'choices', choices: ['bookworm', 'trixie', 'bullseye'] },
  // vauban v2's engines: only docker is supported.
  '--build-engine': { kind: 'choices', choices: ['docker'] },
};

/** One commander option as the completion sees it. */
export function optionSpecOf(option: Option): OptionSpec {
  const long = option.long ?? option.short ?? '';
  const takesValue = option.required || option.optional;
  let value: ValueKind | undefined;
  if (takesValue) {
    const choices = /<([\w.-]+(?:\|[\w.-]+)+)>/.exec(option.flags)?.[1];
    value = choices !== undefined ? { kind: 'choices', choices: choices.split('|') } : (VALUES_BY_OPTION[long] ?? { kind: 'free' });
  }
  return { ...(option.short ? { short: option.short } : {}), long, description: option.description, ...(value ? { value } : {}) };
}

const HELP: OptionSpec = { short: '-h', long: '--help', description: 'prints help' };
const VERSION: OptionSpec = { long: '--version', description: 'prints the version' };

function optionsOf(program: Command): OptionSpec[] {
  const options = program.options.filter((option) => !option.hidden).map(optionSpecOf);
  return options.some((option) => option.long === '--help') ? options : [...options, HELP];
}

/** `vauban serve`, `promote`, `rollback` (B6, B14); their lists are checked against their help in the tests too. */
const SERVE_OPTIONS: OptionSpec[] = [
  { long: '--dir', description: 'the folder to serve', value: { kind: 'dir' } },
  { long: '--port', description: 'the TCP port (0: any free port)', value: { kind: 'free' } },
  { long: '--listen', description: 'the address to listen on', value: { kind: 'free' } },
  { long: '--debug', description: 'print more' },
];
/** `vauban list`, `vauban clean` (issue 31). */
const LIST_OPTIONS: OptionSpec[] = [
  { long: '--json', description: 'print it as one JSON document on stdout' },
  { long: '--no-servers', description: 'do not ask the PXE servers for their releases' },
  { long: '--debug', description: 'print every command run' },
];
const CLEAN_OPTIONS: OptionSpec[] = [
  { long: '--dry-run', description: 'say what would be removed, remove nothing' },
  { long: '--older-than', description: 'also remove what is older than that many days', value: { kind: 'free' } },
  { long: '--mirror', description: 'also remove the Ansible mirror' },
  { long: '--json', description: 'print what was removed as one JSON document' },
  { long: '--debug', description: 'print every command run' },
];
const RELEASE_OPTIONS: OptionSpec[] = [
  { long: '--list', description: "list each server's releases of the master and the live one" },
  { long: '--debug', description: 'print every command run' },
];

/**
 * `vauban boot`'s options. Its program is built inside its command; this list
 * is checked against its help in src/completion/completion.test.ts.
 */
const BOOT_OPTIONS: OptionSpec[] = [
  { short: '-n', long: '--name', description: 'the master to boot', value: { kind: 'masters' } },
  { short: '-a', long: '--ansible-host', description: "the host whose conffs to boot with", value: { kind: 'free' } },
  { long: '--dir', description: 'where the artifacts are', value: { kind: 'dir' } },
  { long: '--pxe-dir', description: 'boot the live release of a PXE server folder', value: { kind: 'dir' } },
  { long: '--accel', description: 'QEMU accelerator', value: { kind: 'choices', choices: ['tcg', 'kvm'] } },
  { long: '--timeout', description: 'the guest is stopped after this long (seconds)', value: { kind: 'free' } },
  { long: '--memory', description: 'guest memory (MiB)', value: { kind: 'free' } },
  { long: '--serial-log', description: 'where the serial console is kept', value: { kind: 'file' } },
  { long: '--expect-active', description: 'a unit that must be active on the booted host', value: { kind: 'free' } },
  { long: '--expect-http', description: 'a page the booted host serves must contain text (url=text)', value: { kind: 'free' } },
  { long: '--expect-file', description: 'a file of the booted host must contain text (path=text)', value: { kind: 'free' } },
  { long: '--tamper', description: 'change one byte of the served file: the boot must stop (proves the check)', value: { kind: 'choices', choices: ['rootfs', 'conffs', 'server'] } },
  { long: '--debug', description: 'print every command run' },
  VERSION,
  HELP,
];

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** vauban (with its subcommands boot and completion) and vauban-ci. */
export async function completionSpecs(): Promise<CommandSpec[]> {
  const { buildProgram } = await import('../vauban-args.js');
  const { buildCiProgram } = await import('../vauban-ci.js');
  const silent = { out: () => undefined, err: () => undefined };
  return [
    {
      name: 'vauban',
      options: optionsOf(buildProgram(silent)),
      positional: { kind: 'stages' },
      subcommands: [
        { name: 'boot', options: BOOT_OPTIONS },
        { name: 'serve', options: [...SERVE_OPTIONS, VERSION, HELP] },
        { name: 'promote', options: [...RELEASE_OPTIONS, VERSION, HELP], positional: { kind: 'masters' } },
        { name: 'rollback', options: [...RELEASE_OPTIONS, VERSION, HELP], positional: { kind: 'masters' } },
        { name: 'completion', options: [VERSION, HELP], positional: { kind: 'choices', choices: [...SHELLS] } },
        { name: 'list', options: [...LIST_OPTIONS, VERSION, HELP] },
        { name: 'clean', options: [...CLEAN_OPTIONS, VERSION, HELP] },
        { name: 'keygen', options: [{ long: '--debug', description: 'print more' }, VERSION, HELP] },
      ],
    },
    { name: 'vauban-ci', options: optionsOf(buildCiProgram()) },
  ];
}

