// `vauban boot`: PXE-boots a built master with one host's conffs under QEMU,
// from the host's generated boot entry, and checks the host came up as itself
// (B5, B15); with --tamper, that a changed download stops the boot. Exit
// status 0 only when every check passed.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { assertHostName } from '../model/host-names.js';
import { VaubanError } from '../errors.js';
import { assertMasterName } from '../model/image-name.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';

interface BootFlags {
  name: string;
  ansibleHost: string;
  dir: string;
  pxeDir?: string;
  accel: 'tcg' | 'kvm';
  timeout: number;
  memory: number;
  serialLog?: string;
  expectActive: string[];
  expectHttp: Array<{ url: string; text: string }>;
  expectFile: Array<{ path: string; text: string }>;
  tamper?: 'rootfs' | 'conffs' | 'server';
  debug: boolean;
}

function collect<T>(parse: (value: string) => T): (value: string, previous: T[]) => T[] {
  return (value, previous) => [...previous, parse(value)];
}

function urlAndText(value: string): { url: string; text: string } {
  const match = /^(https?:\/\/[^=\s]+)=(.+)$/.exec(value);
  if (match === null) throw new InvalidArgumentError('expected <url>=<text>, e.g. http://127.0.0.1/=served by web01');
  return { url: match[1] as string, text: match[2] as string };
}

function pathAndText(value: string): { path: string; text: string } {
  const match = /^(\/[^=]+)=(.+)$/.exec(value);
  if (match === null) throw new InvalidArgumentError('expected <absolute path>=<text>, e.g. /etc/motd=web01');
  return { path: match[1] as string, text: match[2] as string };
}

/** A commander parser that takes the value when `check` does not throw, and says its message when it does. */
function checked(check: (value: string) => void): (value: string) => string {
  return (value) => {
    try {
      check(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    return value;
  };
}

function positive(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function bootProgram(): Command {
  return new Command('vauban boot')
    .description('PXE-boot a built master with one host\'s conffs under QEMU, and check the host came up as itself')
    // Both name files of --dir (the serial log, overlayfs/, vault/): never a path out of it.
    .requiredOption('-n, --name <master>', 'the master to boot', checked((value) => assertMasterName(value, '--name')))
    .requiredOption('-a, --ansible-host <host>', 'the host whose conffs to boot with', checked(assertHostName))
    .option('--dir <dir>', 'where the artifacts are (vmlinuz, initramfs.img, rootfs.tgz, overlayfs/, vault/)', '.')
    .option('--pxe-dir <dir>', 'boot the live release of the master in this PXE server folder (UPLOAD_DIR as uploads, promote and rollback leave it) instead of the artifacts of --dir, whose vault/ still gives the host\'s key')
    .option('--accel <tcg|kvm>', 'QEMU accelerator: tcg works everywhere; kvm only where /dev/kvm really works', (value) => {
      if (value !== 'tcg' && value !== 'kvm') throw new InvalidArgumentError('expected tcg or kvm');
      return value;
    }, 'tcg')
    .option('--timeout <seconds>', 'the guest is stopped after this long', positive, 600)
    .option('--memory <MiB>', 'guest memory (rootfs.tgz is downloaded into it)', positive, 2048)
    .option('--serial-log <file>', 'where the serial console is kept (default: vauban-boot-<master>-<host>.log in --dir)')
    .option('--expect-active <unit>', 'a unit that must be active on the booted host (repeatable)', collect((value) => value), [])
    .option('--expect-http <url=text>', 'a page the booted host serves to itself must contain text (repeatable)', collect(urlAndText), [])
    .option('--expect-file <path=text>', 'a file of the booted host must contain text (repeatable)', collect(pathAndText), [])
    .option('--tamper <rootfs|conffs|server>', 'change one byte of the served file (server: the conffs, and the sums the server serves rewritten to match it, as its writer could): the boot must stop with the integrity message (proves the check)', (value) => {
      if (value !== 'rootfs' && value !== 'conffs' && value !== 'server') throw new InvalidArgumentError('expected rootfs, conffs or server');
      return value;
    })
    .option('--debug', 'print every command run', false);
}

const boot: CommandDefinition<BootFlags, { passphrase: string }, 'lifecycle', true> = {
  name: 'vauban boot',
  parse: commanderParse(bootProgram, (program) => program.opts<BootFlags>()),
  debug: (flags) => flags.debug,
  settings: true,
  prepare: async ({ settings }) => {
    const passphrase = settings.values.VAULTED_SSHD_KEYS_KEY;
    if (passphrase === undefined) throw new VaubanError('setting VAULTED_SSHD_KEYS_KEY is required to check the host\'s sshd key against the vault');
    return { passphrase };
  },
  needs: 'lifecycle',
  work: async ({ io, flags, reporter, settings }, { passphrase }, { cleanup, signal }) => {
    const { createWorkDir } = await import('../system/work-dir.js');
    const { bootCheck } = await import('../boot/boot-check.js');
    const { bootSerialLogName } = await import('../model/local-layout.js');
    const dir = path.resolve(io.cwd, flags.dir);
    const serialLog = path.resolve(io.cwd, flags.serialLog ?? path.join(dir, bootSerialLogName(flags.name, flags.ansibleHost)));
    const result = await bootCheck({
      dir,
      pxeDir: flags.pxeDir === undefined ? undefined : path.resolve(io.cwd, flags.pxeDir),
      master: flags.name,
      host: flags.ansibleHost,
      passphrase,
      accelerator: flags.accel,
      timeoutSeconds: flags.timeout,
      memoryMiB: flags.memory,
      serialLog,
      workDir: createWorkDir(settings.values.VAUBAN_WORK_DIR ?? '/var/tmp', cleanup),
      reporter,
      cleanup,
      runOptions: { signal, debug: (line) => reporter.debug(line) },
      expectActive: flags.expectActive,
      expectHttp: flags.expectHttp,
      expectFiles: flags.expectFile,
      tamper: flags.tamper,
    });
    for (const check of result.checks) {
      reporter.line(`${check.ok ? '[OK]' : '[KO]'} ${check.name}: expected ${check.expected}, got ${check.got ?? '(nothing)'}`);
    }
    reporter.line(`booted from: ${result.entry} (release ${result.release})`);
    reporter.line(`served: ${result.requests.join(', ') || 'nothing'}`);
    reporter.line(`serial log: ${serialLog}`);
    if (result.secondsToChecks !== undefined) reporter.line(`boot to ${flags.tamper === undefined ? 'checks passed' : 'refusal'}: ${result.secondsToChecks.toFixed(1)} s`);
    const changed = flags.tamper === 'server' ? 'conffs and the sums the server rewrote to match it' : flags.tamper;
    const success = flags.tamper === undefined ? 'the host came up as itself' : `the boot stopped on the changed ${changed}, as it must`;
    reporter.line(result.ok ? `Result: ${success}` : 'Result: FAILED');
    return result.ok ? 0 : 1;
  },
};

export function mainBoot(io: CommandIo): Promise<number> {
  return runCommand(boot, io);
}
