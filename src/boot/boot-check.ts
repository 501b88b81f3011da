// `vauban boot` (B5, B15): boots a built master with one host's conffs the way
// a PXE server would: the artifacts published as a release of a local PXE
// folder by the upload's own code (src/pxe/), served over HTTP on loopback,
// QEMU booting through iPXE (Debian's ipxe.lkrn) from a script that chains to
// the generated entry of the host (by its MAC address when the inventory gives
// one, else by name); then checks, from the serial console, that the host came
// up as itself, with both downloads verified, the paths its stages deleted
// absent, and its writable layer where rootovl puts it. With --tamper, one
// byte of the served rootfs or conffs is changed and the boot must stop with
// the integrity message.
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { INITRAMFS, ROOTFS_IMAGE, VAULT_DIR, VMLINUZ } from '../model/local-layout.js';
import { chainByMac, chainByName } from '../pxe/ipxe-entry.js';
import { ROOTFS, SUMS, byMacEntry, conffsMember, entryMember, kernelFile, releaseDir, releaseName } from '../pxe/layout.js';
import { publishRelease } from '../pxe/publish-release.js';
import { openLocalServer } from '../pxe/pxe-server.js';
import type { Reporter } from '../reporter.js';
import { DELETIONS_MEMBER } from '../conffs/archive.js';
import type { CleanupStack } from '../system/cleanup.js';
import { startStaticServer } from '../system/http-server.js';
import { readKernelVersion } from '../system/kernel-image.js';
import { QEMU_GUEST, ipxeQemuNetwork, runQemu, type Accelerator } from '../system/qemu.js';
import { run, type RunOptions } from '../system/run.js';
import { sha256File } from '../system/sha256-file.js';
import { readVaultEntry } from '../vault/vault.js';
import { releaseSigner } from '../vault/project-key.js';
import { readArtifactRecord } from '../cache/artifact-record.js';
import { buildArtifacts, liveReleaseArtifacts } from './boot-artifacts.js';
import { CHECK_MARKER, addGuestCheck, readCheckLines } from './guest-check.js';

export interface BootCheckOptions {
  /** Where the artifacts are: vmlinuz, initramfs.img, rootfs.tgz, overlayfs/, vault/. */
  dir: string;
  /** Boot the live release of the master in this PXE server folder instead of the artifacts of `dir` (whose vault/ still serves). */
  pxeDir?: string;
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
  /** `<path>=<text>`: the file of the booted host must contain text (--expect-file). */
  expectFiles?: Array<{ path: string; text: string }>;
  /** Change one byte of the served file: the boot must stop with the integrity message (--tamper). */
  tamper?: Tampered;
}

/** What --tamper changes: one byte of the rootfs or of the conffs; or, as someone who can write the server, the conffs and the sums that vouch for it (the release's SHA256SUMS and the host's entry). */
export type Tampered = 'rootfs' | 'conffs' | 'server';

export interface CheckResult {
  name: string;
  expected: string;
  got: string | undefined;
  ok: boolean;
}

export interface BootCheckResult {
  ok: boolean;
  checks: CheckResult[];
  /** From QEMU's start to the guest's last check line (with --tamper: to the refusal). */
  secondsToChecks: number | undefined;
  requests: string[];
  /** How QEMU booted: the chain script's path on the server. */
  entry: string;
  /** The release booted (its name on the PXE server folder with --pxe-dir). */
  release: string;
}

export async function bootCheck(options: BootCheckOptions): Promise<BootCheckResult> {
  const { reporter, runOptions } = options;
  const artifacts = options.pxeDir === undefined ? buildArtifacts(options.dir, options.host) : liveReleaseArtifacts(options.pxeDir, options.master, options.host);
  const kernelVersion = await readKernelVersion(artifacts.vmlinuz);

  const serve = path.join(options.workDir, 'serve');
  const layout = await reporter.step('boot: publish the artifacts as a release of a PXE server folder', async () => {
    const linux = path.join(serve, 'linux');
    mkdirSync(linux, { recursive: true });
    // Copies, not links: the server serves only files inside its folder (issue 30), and the release takes them as its own.
    copyFileSync(path.resolve(artifacts.vmlinuz), path.join(serve, kernelFile(VMLINUZ, kernelVersion)));
    copyFileSync(path.resolve(artifacts.initramfs), path.join(serve, kernelFile(INITRAMFS, kernelVersion)));

    // The expectations, from the artifacts and the vault.
    const witness = await pickWitness(artifacts.conffs, artifacts.rootfs, options.workDir, runOptions);
    const keys = await readVaultEntry(path.join(options.dir, VAULT_DIR), options.host, options.passphrase);
    const publicKey = keys?.find((key) => key.name === 'ssh_host_ed25519_key.pub');
    if (publicKey === undefined) throw new VaubanError(`the vault has no ed25519 sshd key for ${options.host}`);
    const keyFile = path.join(options.workDir, `${options.host}.pub`);
    writeFileSync(keyFile, publicKey.data);
    const fingerprint = (await run('ssh-keygen', ['-E', 'sha256', '-lf', keyFile], runOptions)).stdout.split(' ')[1] ?? '';

    // The host's conffs plus the check, for this boot only; the paths its stages deleted must be gone.
    const unpacked = path.join(options.workDir, 'conffs-check');
    mkdirSync(unpacked);
    await run('tar', ['-xzpf', artifacts.conffs, '--numeric-owner', '-C', unpacked], runOptions);
    const deletions = path.join(unpacked, DELETIONS_MEMBER);
    const absent = existsSync(deletions) ? readFileSync(deletions, 'utf8').split('\n').filter((line) => line !== '').slice(0, MAX_ABSENT_CHECKS) : [];
    addGuestCheck(unpacked, witness.path, {
      units: options.expectActive ?? [],
      urls: (options.expectHttp ?? []).map((one) => one.url),
      files: (options.expectFiles ?? []).map((one) => one.path),
      absent,
    });
    const conffs = path.join(options.workDir, conffsMember(options.host));
    await run('tar', ['-czf', conffs, '--numeric-owner', '-C', unpacked, '.'], runOptions);

    // The release, exactly as the upload makes it on a PXE server: entries, links, current; under
    // the name it has in --pxe-dir, which the guest reads back from its boot line.
    const release = artifacts.release ?? releaseName(new Date(), 'boot');
    const signer = await releaseSigner(path.join(options.dir, VAULT_DIR), options.passphrase);
    const files = [
      { member: ROOTFS, local: artifacts.rootfs, sha256: await sha256File(artifacts.rootfs) },
      { member: conffsMember(options.host), local: conffs, sha256: await sha256File(conffs) },
    ];
    const bootFiles = artifacts.byMac === undefined ? [] : [{ path: byMacEntry(artifacts.byMac.mac), content: readFileSync(artifacts.byMac.file, 'utf8') }];
    await publishRelease(openLocalServer(serve, runOptions), {
      name: options.master,
      release,
      files,
      kernelVersion,
      bootFiles,
      group: undefined,
      keep: 1,
      runId: 'boot',
      cleanup: options.cleanup,
      // Signed as an upload signs it: an initramfs that holds the project's key refuses an unsigned release.
      ...(signer === undefined ? {} : { signer }),
    });
    if (options.tamper !== undefined) {
      const member = options.tamper === 'rootfs' ? ROOTFS : conffsMember(options.host);
      const folder = path.join(serve, releaseDir(options.master, release));
      const before = await sha256File(path.join(folder, member));
      flipOneByte(path.join(folder, member));
      if (options.tamper === 'server') {
        // What only the project's signature can catch: the sums the boot reads agree with the changed file.
        const after = await sha256File(path.join(folder, member));
        const entry = path.join(folder, entryMember(options.host));
        const entrySum = await sha256File(entry);
        writeFileSync(entry, readFileSync(entry, 'utf8').replaceAll(before, after));
        const sums = path.join(folder, SUMS);
        writeFileSync(sums, readFileSync(sums, 'utf8').replaceAll(before, after).replaceAll(entrySum, await sha256File(entry)));
        reporter.info(`boot: one byte of the served ${member} changed, and ${SUMS} and ${entryMember(options.host)} rewritten to its new sha256: only the signature can stop this boot`);
      } else {
        reporter.info(`boot: one byte of the served ${member} changed: the boot must stop with the integrity message`);
      }
    }
    return { witness, fingerprint, absent, release, signed: signer !== undefined && holdsReleaseKey(artifacts.initramfs) };
  });

  // With --debug, each request with its time since QEMU's start: where a boot's seconds go.
  let started = Date.now();
  const server = await startStaticServer(serve, { onRequest: (line) => reporter.debug(`boot: +${((Date.now() - started) / 1000).toFixed(1)} s ${line}`) });
  options.cleanup.push('boot HTTP server', server.close);
  const baseUrl = `http://${QEMU_GUEST.host}:${server.port}`;
  const mac = artifacts.byMac?.mac;
  // What an operator's DHCP-served script runs (chainByMac, chainByName), after the NIC is set up as QEMU's DHCP would.
  const chain = (mac === undefined ? chainByName(baseUrl, options.host) : chainByMac(baseUrl)).split('\n');
  const bootScript = path.join(options.workDir, 'boot.ipxe');
  writeFileSync(bootScript, [chain[0], ...ipxeQemuNetwork(), ...chain.slice(1)].join('\n'));
  const entry = mac === undefined ? `boot/${entryMember(options.host)}` : byMacEntry(mac);

  let secondsToChecks: number | undefined;
  started = Date.now();
  const stop = new AbortController();
  const done = options.tamper === undefined ? `${CHECK_MARKER} end` : REFUSAL;
  // Every 100 ms: the time reported is the boot's to within 0.1 s (at 500 ms it read up to 0.5 s late).
  const watcher = setInterval(() => {
    if (secondsToChecks === undefined && existsSync(options.serialLog) && readFileSync(options.serialLog, 'latin1').includes(done)) {
      secondsToChecks = (Date.now() - started) / 1000;
      // A refused boot halts and never powers off: stop it once the message is out.
      if (options.tamper !== undefined) setTimeout(() => stop.abort(), 3000);
    }
  }, 100);
  try {
    const qemu = await reporter.step(`boot: ${options.master} as ${options.host} from ${entry} under QEMU (${options.accelerator}, ${options.timeoutSeconds} s at most)`, () =>
      runQemu({
        bootScript,
        serialLog: options.serialLog,
        memoryMiB: options.memoryMiB,
        accelerator: options.accelerator,
        timeoutSeconds: options.timeoutSeconds,
        mac: mac?.replace(/-/g, ':'),
        stop: stop.signal,
        signal: runOptions.signal,
        debug: runOptions.debug,
      }),
    );
    if (!qemu.poweredOff && !qemu.stopped) reporter.warn(`the guest did not power off within ${options.timeoutSeconds} s`);
  } finally {
    clearInterval(watcher);
  }

  const serial = existsSync(options.serialLog) ? readFileSync(options.serialLog, 'latin1') : '';
  const verdict =
    options.tamper === undefined
      ? judgeBoot(serial, {
          host: options.host,
          witness: layout.witness,
          fingerprint: layout.fingerprint,
          active: options.expectActive ?? [],
          http: options.expectHttp ?? [],
          files: options.expectFiles ?? [],
          absent: layout.absent,
          release: layout.release,
          signed: layout.signed,
        })
      : judgeRefusal(serial, options.tamper);
  return { ...verdict, secondsToChecks, requests: server.requests, entry, release: layout.release };
}

/**
 * Whether the initramfs checks the release's signature: built with the
 * project's key (its record says so). One without a record (a PXE server's)
 * is taken to hold it: the release it came from was signed.
 */
function holdsReleaseKey(initramfs: string): boolean {
  const record = readArtifactRecord(initramfs);
  return record === undefined || record.parts.releaseKey !== undefined;
}

/** What our dracut module prints when a download does not match the boot line. */
export const REFUSAL = 'vauban-live: INTEGRITY CHECK FAILED';
/** Deleted paths checked on the guest at most (a stage may delete thousands). */
const MAX_ABSENT_CHECKS = 50;

/** Changes one byte in the middle of `file` (in place). */
function flipOneByte(file: string): void {
  const descriptor = openSync(file, 'r+');
  try {
    const at = Math.floor(fstatSync(descriptor).size / 2);
    const byte = Buffer.alloc(1);
    readSync(descriptor, byte, 0, 1, at);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    writeSync(descriptor, byte, 0, 1, at);
  } finally {
    closeSync(descriptor);
  }
}

/** With --tamper: the boot stopped in the initramfs on the changed file, with the message, and the host never came up. */
export function judgeRefusal(serial: string, tamper: Tampered): { ok: boolean; checks: CheckResult[] } {
  const refusal = serial.split(/\r?\n/).find((line) => line.includes(REFUSAL));
  const got = refusal?.slice(refusal.indexOf(REFUSAL));
  const stopped: CheckResult =
    tamper === 'server'
      ? { name: 'boot stopped on the signature of SHA256SUMS', expected: `"${REFUSAL}: .../${SUMS} does not carry the project's signature ..."`, got, ok: got !== undefined && got.includes(`/${SUMS} does not carry the project's signature`) }
      : { name: `boot stopped on the ${tamper}`, expected: `"${REFUSAL}: the ${tamper} ..."`, got, ok: got?.includes(`${REFUSAL}: the ${tamper}`) ?? false };
  const checks: CheckResult[] = [
    stopped,
    { name: 'the host never came up', expected: 'no check line', got: serial.includes(CHECK_MARKER) ? 'check lines' : 'no check line', ok: !serial.includes(CHECK_MARKER) },
  ];
  if (tamper === 'rootfs') {
    // The conffs is fetched first (when the network is up); it passed its own check.
    const conffs = /vauban-live: the conffs \S+: sha256 [0-9a-f]{64} as the boot line expects/.test(serial);
    checks.push({ name: 'the conffs verified before', expected: 'sha256 as the boot line expects', got: conffs ? 'sha256 as the boot line expects' : undefined, ok: conffs });
  }
  return { ok: checks.every((check) => check.ok), checks };
}

export interface BootExpectations {
  host: string;
  witness: { path: string; sha256: string };
  fingerprint: string;
  active?: string[];
  http?: Array<{ url: string; text: string }>;
  files?: Array<{ path: string; text: string }>;
  /** Paths the host's stages deleted (the conffs' list). */
  absent?: string[];
  /** The release whose entry the host booted from: its boot line names it. */
  release?: string;
  /** The release is signed with the project's key, which the initramfs holds: its SHA256SUMS was checked first. */
  signed?: boolean;
}

/** Compares what the guest printed with what the artifacts say it must be. */
export function judgeBoot(serial: string, expected: BootExpectations): { ok: boolean; checks: CheckResult[] } {
  const lines = readCheckLines(serial);
  const checks: CheckResult[] = [
    { name: 'hostname', expected: expected.host, got: lines.get('hostname') },
    { name: `conffs file /${expected.witness.path}`, expected: expected.witness.sha256, got: lines.get('witness') },
    { name: 'sshd ed25519 key fingerprint', expected: expected.fingerprint, got: lines.get('sshd-ed25519') },
    { name: 'root file system', expected: 'overlay', got: lines.get('root') },
    // Said by systemd itself: its status line on the console is silenced once a getty holds the console.
    { name: 'multi-user.target', expected: 'active', got: lines.get('multi-user') },
    ...(expected.release === undefined ? [] : [{ name: 'release booted', expected: expected.release, got: lines.get('release') }]),
    // Both downloads checked against the entry's boot line by our dracut module (B15).
    {
      name: `integrity of rootfs.tgz and conffs${expected.signed === true ? ', and the signature of SHA256SUMS' : ''}`,
      expected: `vauban.conffs.sha256=ok ${expected.signed === true ? 'vauban.manifest=ok ' : ''}vauban.rootfs.sha256=ok`,
      got: lines.get('integrity')?.trim().split(/\s+/).sort().join(' '),
    },
  ].map((check) => ({ ...check, ok: check.got === check.expected }));
  // rootovl: the writable layer on a tmpfs of its own, holding what is written to /.
  const layer = lines.get('rw-layer');
  checks.push({ name: 'writable layer (rootovl)', expected: 'tmpfs <size> holds /', got: layer, ok: layer !== undefined && /^tmpfs \S+ holds \/$/.test(layer) });
  (expected.absent ?? []).forEach((file, index) => {
    const got = lines.get(`absent:${index}`);
    checks.push({ name: `/${file} (deleted by the host's stages)`, expected: 'absent', got, ok: got === 'absent' });
  });
  for (const unit of expected.active ?? []) {
    const got = lines.get(`active:${unit}`);
    checks.push({ name: `unit ${unit}`, expected: 'active', got, ok: got === 'active' });
  }
  (expected.http ?? []).forEach((page, index) => {
    const got = lines.get(`http:${index}`);
    checks.push({ name: `page ${page.url}`, expected: `containing "${page.text}"`, got, ok: got !== undefined && got.includes(page.text) });
  });
  (expected.files ?? []).forEach((file, index) => {
    const got = lines.get(`file:${index}`);
    checks.push({ name: `file ${file.path}`, expected: `containing "${file.text}"`, got, ok: got !== undefined && got.includes(file.text) });
  });
  const end = lines.has('end') ? 'yes' : undefined;
  checks.push({ name: 'checks completed', expected: 'yes', got: end, ok: end === 'yes' });
  return { ok: checks.every((check) => check.ok), checks };
}

/** A regular file of the conffs that the master does not carry with the same content. */
async function pickWitness(conffs: string, rootfsTar: string, workDir: string, runOptions: RunOptions): Promise<{ path: string; sha256: string }> {
  const listing = (await run('tar', ['-tvzf', conffs], runOptions)).stdout.split('\n');
  const candidates = listing
    .filter((line) => line.startsWith('-'))
    .map((line) => line.split(/\s+/).slice(5).join(' ').replace(/^\.\//, ''))
    .filter((file) => !/^(etc\/ssh\/|etc\/hostname$|imginfo$|packages$|\.vauban-conffs\/)/.test(file));
  await run('tar', ['-xf', rootfsTar, '-C', workDir, ROOTFS_IMAGE], runOptions);
  const squashfs = path.join(workDir, ROOTFS_IMAGE);
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
