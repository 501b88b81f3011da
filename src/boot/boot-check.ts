// `vauban boot` (B5): boots a built master with one host's conffs the way a
// PXE server would (the A9 layout served over HTTP on loopback, QEMU booting
// through its iPXE ROM from a TFTP-served iPXE script) and checks, from the
// serial console, that the host came up as itself.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { Reporter } from '../reporter.js';
import type { CleanupStack } from '../system/cleanup.js';
import { startStaticServer } from '../system/http-server.js';
import { readKernelVersion } from '../system/kernel-image.js';
import { runQemu, type Accelerator } from '../system/qemu.js';
import { run, type RunOptions } from '../system/run.js';
import { readVaultEntry } from '../vault.js';
import { addGuestCheck, readCheckLines } from './guest-check.js';

export interface BootCheckOptions {
  /** Where the artifacts are: vmlinuz, initramfs.img, rootfs.tgz, overlayfs/, vault/. */
  dir: string;
  master: string;
  host: string;
  passphrase: string;
  accelerator: Accelerator;
  timeoutSeconds: number;
  memoryMiB: number;
  serialLog: string;
  workDir: string;
  reporter: Reporter;
  cleanup: CleanupStack;
  runOptions: RunOptions;
  /** Units that must be active on the booted host (--expect-active). */
  expectActive?: string[];
  /** `<url>=<text>`: the page the host serves at url must contain text (--expect-http). */
  expectHttp?: Array<{ url: string; text: string }>;
}

export interface CheckResult {
  name: string;
  expected: string;
  got: string | undefined;
  ok: boolean;
}

export interface BootCheckResult {
  ok: boolean;
  checks: CheckResult[];
  /** From QEMU's start to the guest's last check line. */
  secondsToChecks: number | undefined;
  requests: string[];
}

/** The boot line of the article, against the served layout, plus the serial console. */
export function bootLine(baseUrl: string, master: string, host: string): string {
  return [
    `root=live:${baseUrl}/${master}/rootfs.tgz`,
    `live.updates=${baseUrl}/${master}/conffs-${host}.tgz`,
    'rd.neednet=1',
    'ip=dhcp',
    'rootovl',
    'console=tty0',
    'console=ttyS0,115200',
    'net.ifnames=0',
  ].join(' ');
}

export async function bootCheck(options: BootCheckOptions): Promise<BootCheckResult> {
  const { reporter, runOptions } = options;
  const artifacts = findArtifacts(options.dir, options.host);
  const kernelVersion = await readKernelVersion(artifacts.vmlinuz);

  const serve = path.join(options.workDir, 'serve');
  const layout = await reporter.step('boot: lay out the PXE server folder', async () => {
    const linux = path.join(serve, 'linux');
    const masterDir = path.join(serve, options.master);
    mkdirSync(linux, { recursive: true });
    mkdirSync(masterDir, { recursive: true });
    symlinkSync(path.resolve(artifacts.vmlinuz), path.join(linux, `vmlinuz-${kernelVersion}`));
    symlinkSync(path.resolve(artifacts.initramfs), path.join(linux, `initramfs.img-${kernelVersion}`));
    symlinkSync(path.resolve(artifacts.rootfs), path.join(masterDir, 'rootfs.tgz'));
    symlinkSync(`../linux/vmlinuz-${kernelVersion}`, path.join(masterDir, 'vmlinuz'));
    symlinkSync(`../linux/initramfs.img-${kernelVersion}`, path.join(masterDir, 'initramfs.img'));

    // The expectations, from the artifacts and the vault.
    const witness = await pickWitness(artifacts.conffs, artifacts.rootfs, options.workDir, runOptions);
    const keys = await readVaultEntry(path.join(options.dir, 'vault'), options.host, options.passphrase);
    const publicKey = keys?.find((key) => key.name === 'ssh_host_ed25519_key.pub');
    if (publicKey === undefined) throw new VaubanError(`the vault has no ed25519 sshd key for ${options.host}`);
    const keyFile = path.join(options.workDir, `${options.host}.pub`);
    writeFileSync(keyFile, publicKey.data);
    const fingerprint = (await run('ssh-keygen', ['-E', 'sha256', '-lf', keyFile], runOptions)).stdout.split(' ')[1] ?? '';

    // The host's conffs plus the check, for this boot only.
    const unpacked = path.join(options.workDir, 'conffs-check');
    mkdirSync(unpacked);
    await run('tar', ['-xzpf', artifacts.conffs, '--numeric-owner', '-C', unpacked], runOptions);
    addGuestCheck(unpacked, witness.path, { units: options.expectActive ?? [], urls: (options.expectHttp ?? []).map((one) => one.url) });
    await run('tar', ['-czf', path.join(masterDir, `conffs-${options.host}.tgz`), '--numeric-owner', '-C', unpacked, '.'], runOptions);
    return { witness, fingerprint };
  });

  const server = await startStaticServer(serve);
  options.cleanup.push('boot HTTP server', server.close);
  const baseUrl = `http://10.0.2.2:${server.port}`;
  const tftp = path.join(options.workDir, 'tftp');
  mkdirSync(tftp);
  writeFileSync(
    path.join(tftp, 'boot.ipxe'),
    [
      '#!ipxe',
      `kernel ${baseUrl}/${options.master}/vmlinuz initrd=initramfs.img ${bootLine(baseUrl, options.master, options.host)}`,
      `initrd ${baseUrl}/${options.master}/initramfs.img`,
      'boot',
      '',
    ].join('\n'),
  );

  let secondsToChecks: number | undefined;
  const started = Date.now();
  const watcher = setInterval(() => {
    if (secondsToChecks === undefined && existsSync(options.serialLog) && readFileSync(options.serialLog, 'latin1').includes('VAUBAN-CHECK end')) {
      secondsToChecks = (Date.now() - started) / 1000;
    }
  }, 500);
  try {
    const qemu = await reporter.step(`boot: ${options.master} as ${options.host} under QEMU (${options.accelerator}, ${options.timeoutSeconds} s at most)`, () =>
      runQemu({
        tftpDir: tftp,
        serialLog: options.serialLog,
        memoryMiB: options.memoryMiB,
        accelerator: options.accelerator,
        timeoutSeconds: options.timeoutSeconds,
        signal: runOptions.signal,
        debug: runOptions.debug,
      }),
    );
    if (!qemu.poweredOff) reporter.warn(`the guest did not power off within ${options.timeoutSeconds} s`);
  } finally {
    clearInterval(watcher);
  }

  const serial = existsSync(options.serialLog) ? readFileSync(options.serialLog, 'latin1') : '';
  const verdict = judgeBoot(serial, {
    host: options.host,
    witness: layout.witness,
    fingerprint: layout.fingerprint,
    active: options.expectActive ?? [],
    http: options.expectHttp ?? [],
  });
  return { ...verdict, secondsToChecks, requests: server.requests };
}

export interface BootExpectations {
  host: string;
  witness: { path: string; sha256: string };
  fingerprint: string;
  active?: string[];
  http?: Array<{ url: string; text: string }>;
}

/** Compares what the guest printed with what the artifacts say it must be. */
export function judgeBoot(serial: string, expected: BootExpectations): { ok: boolean; checks: CheckResult[] } {
  const lines = readCheckLines(serial);
  const checks: CheckResult[] = [
    { name: 'hostname', expected: expected.host, got: lines.get('hostname') },
    { name: `conffs file /${expected.witness.path}`, expected: expected.witness.sha256, got: lines.get('witness') },
    { name: 'sshd ed25519 key fingerprint', expected: expected.fingerprint, got: lines.get('sshd-ed25519') },
    { name: 'root file system', expected: 'overlay', got: lines.get('root') },
  ].map((check) => ({ ...check, ok: check.got === check.expected }));
  for (const unit of expected.active ?? []) {
    const got = lines.get(`active:${unit}`);
    checks.push({ name: `unit ${unit}`, expected: 'active', got, ok: got === 'active' });
  }
  (expected.http ?? []).forEach((page, index) => {
    const got = lines.get(`http:${index}`);
    checks.push({ name: `page ${page.url}`, expected: `containing "${page.text}"`, got, ok: got !== undefined && got.includes(page.text) });
  });
  const end = lines.has('end') ? 'yes' : undefined;
  checks.push({ name: 'checks completed', expected: 'yes', got: end, ok: end === 'yes' });
  return { ok: checks.every((check) => check.ok), checks };
}

interface Artifacts {
  vmlinuz: string;
  initramfs: string;
  rootfs: string;
  conffs: string;
}

/** The artifacts of a build in `dir`; the host's newest conffs, renamed or not. */
function findArtifacts(dir: string, host: string): Artifacts {
  const file = (name: string): string => {
    const full = path.join(dir, name);
    if (!existsSync(full)) throw new VaubanError(`${full} does not exist: build it first (vauban -i yes / -r yes)`);
    return full;
  };
  const overlayfs = path.join(dir, 'overlayfs');
  const folders = existsSync(overlayfs) ? readdirSync(overlayfs).filter((name) => name === `overlayfs-${host}` || name.endsWith(`-overlayfs-${host}`)).sort() : [];
  const current = folders.includes(`overlayfs-${host}`) ? `overlayfs-${host}` : folders.at(-1);
  if (current === undefined) throw new VaubanError(`no conffs of ${host} in ${overlayfs}: build it first (vauban -l yes -a ${host})`);
  return {
    vmlinuz: file('vmlinuz'),
    initramfs: file('initramfs.img'),
    rootfs: file('rootfs.tgz'),
    conffs: file(path.join('overlayfs', current, `conffs-${host}.tgz`)),
  };
}

/** A regular file of the conffs that the master does not carry with the same content. */
async function pickWitness(conffs: string, rootfsTar: string, workDir: string, runOptions: RunOptions): Promise<{ path: string; sha256: string }> {
  const listing = (await run('tar', ['-tvzf', conffs], runOptions)).stdout.split('\n');
  const candidates = listing
    .filter((line) => line.startsWith('-'))
    .map((line) => line.split(/\s+/).slice(5).join(' ').replace(/^\.\//, ''))
    .filter((file) => !/^(etc\/ssh\/|etc\/hostname$|imginfo$|packages$)/.test(file));
  await run('tar', ['-xf', rootfsTar, '-C', workDir, 'rootfs.img'], runOptions);
  const squashfs = path.join(workDir, 'rootfs.img');
  for (const candidate of candidates) {
    const inConffs = await contentOf(['tar', '-xzOf', conffs, `./${candidate}`], runOptions);
    const inMaster = await contentOf(['unsquashfs', '-cat', squashfs, candidate], runOptions);
    if (inConffs !== undefined && inConffs !== inMaster) return { path: candidate, sha256: inConffs };
  }
  throw new VaubanError(`the conffs ${conffs} carries no file of its own (other than keys and hostname) to check`);
}

async function contentOf(command: [string, ...string[]], runOptions: RunOptions): Promise<string | undefined> {
  const [program, ...args] = command;
  const result = await run(program, args, { ...runOptions, binary: true, allowFailure: true });
  if (result.exitCode !== 0 || result.stdoutBytes === undefined) return undefined;
  return createHash('sha256').update(result.stdoutBytes).digest('hex');
}
