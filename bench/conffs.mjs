#!/usr/bin/env node
// Benchmark of build_conffs (issue 4): wall time and machine CPU of conffs
// for 1, 4 and 16 hosts of the fixture, against the floor: the same playbook
// run by plain `ansible-playbook -c local` in as many plain containers of the
// same image, with the same parallelism. Prints the ratio ours / floor.
//
//   sudo node bench/conffs.mjs [--sizes 1,4,16] [--keep]
//
// Needs what the integration tests need (scripts/install-deps.sh) and builds
// the fixture base image if it is not cached. Removes its images at the end.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const top = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const sizes = (args.includes('--sizes') ? args[args.indexOf('--sizes') + 1] : '1,4,16').split(',').map(Number);
const keep = args.includes('--keep');
const master = `master-bench-${process.pid}`;

function sh(command, argv, options = {}) {
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
}

/** Busy and total CPU jiffies of the whole machine (dockerd, runc and ansible included). */
function cpuTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + fields[4];
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function measure(label, work) {
  const ticksPerSecond = Number(sh('getconf', ['CLK_TCK']).trim());
  const before = cpuTicks();
  const started = process.hrtime.bigint();
  await work();
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const after = cpuTicks();
  const cpu = (after.busy - before.busy) / ticksPerSecond;
  return { label, wall, cpu };
}

function run(command, argv, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${argv.join(' ')} exited ${code}:\n${output.slice(-3000)}`))));
  });
}

// The fixtures: the cached base image and an Ansible repository with 16 bench hosts.
execFileSync('bash', [path.join(top, 'scripts/install-deps.sh')], { stdio: 'inherit' });
const work = mkdtempSync('/var/tmp/vauban-bench-');
const cacheDirs = existsSync('/var/cache/vauban-test') ? readdirSync('/var/cache/vauban-test').filter((name) => name.startsWith('base-')) : [];
let baseImage = cacheDirs.map((dir) => path.join('/var/cache/vauban-test', dir, 'debian-12-generic-amd64.raw')).find((file) => existsSync(file));
if (!baseImage) {
  baseImage = path.join(work, 'debian-12-generic-amd64.raw');
  execFileSync('bash', [path.join(top, 'test/fixtures/make-base-image.sh'), baseImage], { stdio: 'inherit' });
}
const repoWork = path.join(work, 'ansible-work');
cpSync(path.join(top, 'test/fixtures/ansible'), repoWork, { recursive: true });
const hosts = Array.from({ length: Math.max(...sizes) }, (_, i) => `bench${String(i + 1).padStart(2, '0')}`);
execFileSync('bash', ['-c', `printf '\\n[bench]\\n' >> inventory; for i in $(seq 1 ${hosts.length}); do printf 'bench%02d http_port=%d\\n' $i $((9000+i)) >> inventory; done`], { cwd: repoWork });
sh('git', ['init', '-q', '-b', 'master'], { cwd: repoWork });
sh('git', ['add', '-A'], { cwd: repoWork });
sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@vauban.invalid', 'commit', '-q', '-m', 'bench'], { cwd: repoWork });
const cwd = path.join(work, 'project');
mkdirSync(cwd);
const env = { PATH: process.env.PATH, HOME: work, ANSIBLE_REPO: repoWork, VAULTED_SSHD_KEYS_KEY: 'bench' };
const vauban = (argv) => run(process.execPath, [path.join(top, 'bin/vauban.js'), ...argv], { cwd, env });
const imagesBefore = new Set(sh('docker', ['image', 'ls', '-aq', '--no-trunc']).split('\n').filter(Boolean));

const rows = [];
try {
  console.log(`building the bench master ${master} from ${baseImage} ...`);
  await vauban(['-f', baseImage, '-n', master, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml']);

  for (const size of sizes) {
    const selection = hosts.slice(0, size);
    // The floor: the same playbook, plain ansible-playbook -c local, one plain container per host, all at once.
    const floor = await measure(`floor ${size}`, () =>
      Promise.all(
        selection.map((host) =>
          run('docker', [
            'run', '--rm', '-v', `${repoWork}:/src:ro`, master, 'bash', '-euc',
            `cp -r /src /tmp/ansible && cd /tmp/ansible && ansible-playbook pb_base.yml --diff -l ${host} -c local -v > /dev/null`,
          ]),
        ),
      ),
    );
    const ours = await measure(`vauban ${size}`, () =>
      vauban(['-r', 'no', '-s', master, '-n', master, '-a', selection.join(','), '-i', 'no', '-u', 'no', '-j', String(Math.min(size, 20)), 'pb_base.yml']),
    );
    rows.push({ size, ours, floor });
    console.log(`${size} host(s): vauban ${ours.wall.toFixed(1)} s wall, ${ours.cpu.toFixed(1)} s CPU | floor ${floor.wall.toFixed(1)} s wall, ${floor.cpu.toFixed(1)} s CPU | ratio ${(ours.wall / floor.wall).toFixed(2)}`);
  }
} finally {
  const created = sh('docker', ['image', 'ls', '-aq', '--no-trunc']).split('\n').filter((id) => id && !imagesBefore.has(id));
  if (created.length > 0 && !keep) {
    try {
      sh('docker', ['image', 'rm', '-f', ...created]);
    } catch {
      // Some were children of others and went with them.
    }
  }
  for (const name of existsSync('/tmp/vauban-logs') ? readdirSync('/tmp/vauban-logs') : []) {
    if (name.startsWith(`${master}-`)) rmSync(path.join('/tmp/vauban-logs', name), { force: true });
  }
  if (!keep) rmSync(work, { recursive: true, force: true });
}

console.log('\nhosts | vauban wall | vauban CPU | floor wall | floor CPU | ratio (wall) | ratio (CPU)');
for (const { size, ours, floor } of rows) {
  console.log(
    `${String(size).padStart(5)} | ${ours.wall.toFixed(1).padStart(9)} s | ${ours.cpu.toFixed(1).padStart(8)} s | ${floor.wall.toFixed(1).padStart(8)} s | ${floor.cpu.toFixed(1).padStart(7)} s | ${(ours.wall / floor.wall).toFixed(2).padStart(12)} | ${(ours.cpu / floor.cpu).toFixed(2).padStart(11)}`,
  );
}
