#!/usr/bin/env node
// Timeline of one `vauban boot` (issue 14: the time from QEMU's start to
// "checks passed" under TCG). Runs `vauban boot <args> --debug` and follows
// the serial log as QEMU writes it: prints each milestone of the boot with the
// time since QEMU started (the serial log is created by QEMU as it starts:
// the old one is removed first) and the guest's HTTP requests (--debug prints
// their times). Each boot is a minute of one core or two: run it alone
// (flock /tmp/vauban-machine.lock ...), and compare phases, not totals,
// between runs on a shared machine. Not part of CI.
//
//   sudo flock /tmp/vauban-machine.lock node bench/boot-timeline.mjs -n <master> -a <host> [--dir D] [other vauban boot options]
//
// Needs dist/ (npm run build) and what vauban boot needs (a build's artifacts, VAULTED_SSHD_KEYS_KEY).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const top = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
const master = option('-n') ?? option('--name');
const host = option('-a') ?? option('--ansible-host');
if (master === undefined || host === undefined) {
  console.error('usage: node bench/boot-timeline.mjs -n <master> -a <host> [vauban boot options]');
  process.exit(2);
}
const serialLog = path.resolve(option('--serial-log') ?? path.join(option('--dir') ?? '.', `vauban-boot-${master}-${host}.log`));

/** What each milestone is, by the first serial line that matches it. */
const MILESTONES = [
  [/Linux version/, 'kernel runs (iPXE, kernel + initramfs downloaded, kernel unpacked)'],
  [/Freeing initrd memory/, 'initramfs unpacked by the kernel'],
  [/Run \/init as init process/, 'initramfs: /init'],
  [/Starting .*dracut-cmdline\.service/, 'initramfs: cmdline hooks'],
  [/Starting .*dracut-initqueue/, 'initramfs: initqueue (udev, network)'],
  [/vauban-live: the conffs \S+: sha256/, 'conffs downloaded and verified'],
  [/vauban-live: the rootfs .*: sha256/, 'rootfs.tgz downloaded and verified'],
  [/vauban-live: rootfs\.img mounted in place/, 'rootfs.img on a loop device'],
  [/Finished .*dracut-initqueue/, 'initqueue done (squashfs mounted)'],
  [/vauban-live: the conffs laid over the root/, 'conffs laid over the root'],
  [/Starting .*initrd-switch-root/, 'switch root'],
  [/Welcome to .*Debian GNU\/Linux 12 \(bookworm\)[^(]*!/, 'systemd of the root'],
  [/Reached target .*Multi-User System/, 'multi-user.target'],
  [/VAUBAN-CHECK hostname=/, 'check unit starts'],
  [/VAUBAN-CHECK end/, 'checks done'],
];

rmSync(serialLog, { force: true });
// vauban's lines (the requests with --debug, the verdict) come on stdout and stderr: both kept, printed on a failure.
const child = spawn(process.execPath, [path.join(top, 'bin/vauban.js'), 'boot', ...args, '--debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
child.stdout.on('data', (chunk) => (output += chunk.toString()));
child.stderr.on('data', (chunk) => (output += chunk.toString()));

let started;
let offset = 0;
let pending = '';
const seen = [];
const follow = () => {
  if (started === undefined) {
    if (!existsSync(serialLog)) return;
    started = Date.now();
  }
  const text = readFileSync(serialLog, 'latin1');
  if (text.length < offset) return;
  pending += text.slice(offset);
  offset = text.length;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  const now = (Date.now() - started) / 1000;
  for (const line of lines) {
    const index = MILESTONES.findIndex(([pattern], at) => !seen.some((one) => one.at === at) && pattern.test(line));
    if (index === -1) continue;
    const kernel = /^\[\s*([\d.]+)\]/.exec(line)?.[1];
    seen.push({ at: index, seconds: now, kernel });
  }
};
const timer = setInterval(follow, 20);
const status = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
follow();
clearInterval(timer);

const requests = [...output.matchAll(/boot: \+([\d.]+) s (GET \S+ \d+)/g)].map((match) => ({ seconds: Number(match[1]), what: match[2].replace(/\/releases\/[^/]+\//, '/releases/<release>/') }));
const rows = [
  ...requests.map((request) => ({ seconds: request.seconds, label: `HTTP ${request.what}` })),
  ...seen.sort((a, b) => a.at - b.at).map((one) => ({ seconds: one.seconds, label: `${MILESTONES[one.at][1]}${one.kernel === undefined ? '' : ` [kernel ${one.kernel}]`}` })),
].sort((a, b) => a.seconds - b.seconds);
let previous = 0;
for (const row of rows) {
  console.log(`${row.seconds.toFixed(2).padStart(7)} s  (+${(row.seconds - previous).toFixed(2).padStart(5)})  ${row.label}`);
  previous = row.seconds;
}
if (status !== 0) console.log(output);
console.log(output.match(/boot to \S+ \S+: [\d.]+ s/)?.[0] ?? 'no boot time reported');
process.exit(status);
