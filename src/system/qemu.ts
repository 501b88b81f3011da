// QEMU for `vauban boot`: a PC that network-boots through iPXE on QEMU's user
// network, which lets the guest reach the host's loopback as 10.0.2.2.
//
// iPXE runs as a kernel (Debian's `ipxe` package: ipxe.lkrn) with the boot
// script as its initrd, not as the NIC's option ROM fetching the script by
// TFTP after its own DHCP: iPXE runs an image it was given at once, without its
// 2 s "Press Ctrl-B" prompt, and the script configures the NIC as QEMU's DHCP
// server would (QEMU_GUEST), without the ~3 s iPXE waits for a ProxyDHCP offer
// QEMU never sends. Measured: the first HTTP request of the guest 1.2 s after
// QEMU's start instead of 5.3 s. This is the test harness's firmware only: a
// real PXE host has its own firmware and DHCP; the entries it chains to are
// the same.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { VaubanError } from '../errors.js';
import { childEnv } from './run.js';

export type Accelerator = 'tcg' | 'kvm';

/** iPXE as a Linux-style kernel image (Debian's `ipxe` package). */
export const IPXE_KERNEL = '/usr/lib/ipxe/ipxe.lkrn';

/** The guest's address on QEMU's user network, and the host's: what QEMU's DHCP server gives the first guest. */
export const QEMU_GUEST = { ip: '10.0.2.15', netmask: '255.255.255.0', gateway: '10.0.2.2', dns: '10.0.2.3', host: '10.0.2.2' } as const;

/** iPXE commands that configure net0 as QEMU's DHCP server would (no DHCP round, no ProxyDHCP wait). */
export function ipxeQemuNetwork(): string[] {
  return [
    `set net0/ip ${QEMU_GUEST.ip}`,
    `set net0/netmask ${QEMU_GUEST.netmask}`,
    `set net0/gateway ${QEMU_GUEST.gateway}`,
    `set net0/dns ${QEMU_GUEST.dns}`,
    'ifopen net0',
  ];
}

export interface QemuOptions {
  /** The iPXE script iPXE runs first (given to it as its initrd). */
  bootScript: string;
  serialLog: string;
  memoryMiB: number;
  accelerator: Accelerator;
  /** The guest is killed after this many seconds. */
  timeoutSeconds: number;
  /** The NIC's MAC address (aa:bb:...); QEMU's default otherwise. */
  mac?: string;
  /** Stops the guest (killed) without an error: the caller has seen what it waited for. */
  stop?: AbortSignal;
  signal?: AbortSignal;
  debug?: (line: string) => void;
}

export interface QemuResult {
  /** True when the guest powered itself off; false when the time ran out or it was stopped. */
  poweredOff: boolean;
  /** True when `stop` ended it. */
  stopped: boolean;
  exitCode: number | null;
  seconds: number;
}

export function qemuArguments(options: QemuOptions): string[] {
  return [
    '-machine', 'pc',
    // No default devices (VGA, floppy and CD-ROM drives, parallel port): nothing the boot needs, and each costs
    // the guest under TCG: udev settles on their drivers before dracut brings the network up, and the root's
    // udev loads bochs-drm, whose framebuffer console then draws every console line. Measured on the boot test's
    // host: from initqueue start to the conffs request 5.2 s instead of 6.6 s, from the root's systemd to
    // multi-user.target 7.3 s instead of 10.0 s, 46.1 s instead of 51.1 s in all (two boots each, interleaved).
    '-nodefaults',
    '-accel', options.accelerator,
    // TCG: QEMU's own x86-64 baseline model, all Debian's amd64 needs. A guest shown
    // more (`max`: AVX2, XSAVE...) takes code paths TCG emulates slowly: the boot
    // test's host was checked 8 s sooner with qemu64 (57 s) than with max (65 s),
    // max without AVX took 63 s, Nehalem 82 s. Without SVM: qemu64 shows AMD's
    // virtualization flag, so the root's udev loaded kvm_amd, which under TCG
    // once held a vCPU for 49 s (a soft lockup, in the module's allocation).
    ...(options.accelerator === 'tcg' ? ['-cpu', 'qemu64,-svm'] : ['-cpu', 'host']),
    '-smp', '2',
    '-m', String(options.memoryMiB),
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-serial', `file:${options.serialLog}`,
    // iPXE from Debian's package, running the boot script (see the top of this file).
    '-kernel', IPXE_KERNEL,
    '-initrd', options.bootScript,
    // QEMU's user network, its addresses said (they are QEMU's defaults, which the boot script gives the NIC).
    '-netdev', `user,id=net0,net=10.0.2.0/24,host=${QEMU_GUEST.host},dns=${QEMU_GUEST.dns},dhcpstart=${QEMU_GUEST.ip}`,
    // No option ROM: the NIC's own iPXE never runs, so a failed script cannot fall back to another boot path.
    '-device', `virtio-net-pci,netdev=net0,romfile=${options.mac === undefined ? '' : `,mac=${options.mac}`}`,
  ];
}

/** Runs the guest until it powers off or the time limit passes. */
export async function runQemu(options: QemuOptions): Promise<QemuResult> {
  if (!existsSync(IPXE_KERNEL)) throw new VaubanError(`${IPXE_KERNEL} does not exist: vauban boot runs iPXE from Debian's ipxe package`, { hint: 'apt-get install ipxe' });
  const args = qemuArguments(options);
  options.debug?.(`$ qemu-system-x86_64 ${args.join(' ')}`);
  const started = Date.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv() });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutSeconds * 1000);
  const onAbort = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let stopped = false;
  const onStop = () => {
    stopped = true;
    child.kill('SIGKILL');
  };
  options.stop?.addEventListener('abort', onStop, { once: true });
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (error) =>
        reject(
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? new VaubanError('qemu-system-x86_64 is not installed', { hint: 'apt-get install qemu-system-x86 ipxe' })
            : error,
        ),
      );
      child.once('exit', (code) => resolve(code));
    });
    if (options.signal?.aborted) throw new VaubanError('interrupted', { exitCode: 130 });
    if (!timedOut && !stopped && exitCode !== 0) throw new VaubanError(`qemu failed (exit status ${exitCode}): ${stderr.trim().split('\n').slice(-5).join('\n')}`);
    return { poweredOff: !timedOut && !stopped, stopped, exitCode, seconds: (Date.now() - started) / 1000 };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    options.stop?.removeEventListener('abort', onStop);
  }
}
