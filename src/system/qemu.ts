// QEMU for `vauban boot`: a PC that network-boots through its NIC's iPXE ROM
// (Debian's ipxe-qemu), on QEMU's user network, which serves boot.ipxe by
// TFTP and lets the guest reach the host's loopback as 10.0.2.2.
import { spawn } from 'node:child_process';
import { VaubanError } from '../errors.js';
import { childEnv } from './run.js';

export type Accelerator = 'tcg' | 'kvm';

export interface QemuOptions {
  /** Folder served by QEMU's TFTP server, holding boot.ipxe. */
  tftpDir: string;
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
    '-accel', options.accelerator,
    // TCG: QEMU's own x86-64 baseline model, all Debian's amd64 needs. A guest shown
    // more (`max`: AVX2, XSAVE...) takes code paths TCG emulates slowly: the boot
    // test's host was checked 8 s sooner with qemu64 (57 s) than with max (65 s),
    // max without AVX took 63 s, Nehalem 82 s.
    ...(options.accelerator === 'tcg' ? ['-cpu', 'qemu64'] : ['-cpu', 'host']),
    '-smp', '2',
    '-m', String(options.memoryMiB),
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-serial', `file:${options.serialLog}`,
    '-netdev', `user,id=net0,tftp=${options.tftpDir},bootfile=boot.ipxe`,
    '-device', `virtio-net-pci,netdev=net0${options.mac === undefined ? '' : `,mac=${options.mac}`}`,
    '-boot', 'n',
  ];
}

/** Runs the guest until it powers off or the time limit passes. */
export async function runQemu(options: QemuOptions): Promise<QemuResult> {
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
            ? new VaubanError('qemu-system-x86_64 is not installed', { hint: 'apt-get install qemu-system-x86 ipxe-qemu' })
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
