#!/usr/bin/env node
// Benchmark of build_conffs (issues 4 and 11). For each size (hosts), in the
// same run and on the same source image, three ways to get every host's
// conffs-worth of work done, each 20 hosts at a time:
//   floor    plain `ansible-playbook -c local` in a throw-away container per host
//            (the play alone: no archive, no keys);
//   vauban.sh  what vauban.sh did: one `docker build --no-cache` per host with a
//            stage Dockerfile, then its layers' upper dirs mounted as one overlay
//            and packed with tar.gz;
//   ours     `vauban -r no -s <master> -a <hosts> -l yes` (keys, archives, logs).
// Prints wall time, machine CPU, the ratios to the floor, the machine's peak
// memory above what it used before, and the peak disk use of the work folders.
// Each figure is the median of --rounds rounds (default 3).
//
//   sudo node bench/conffs.mjs [--sizes 1,4,16,64] [--rounds 3] [--playbook two-tasks|pb_base.yml] [--keep] [--profile]
//
// --profile: where each method's CPU goes, per command (BSD process accounting,
// Debian's acct package: every process that ends is recorded), plus dockerd's
// and containerd's own CPU (they outlive the measure).
//
// The 64 hosts are bench01..bench64, appended to a copy of the fixture's
// inventory (group [bench], each with its own http_port). Needs what the
// integration tests need (scripts/install-deps.sh); builds the fixture base
// image if it is not cached. Removes its images, containers and folders at the end.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureBaseImage } from './fixture-base.mjs';

const top = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const sizes = option('--sizes', '1,4,16,64').split(',').map(Number);
const rounds = Number(option('--rounds', '3'));
const playbookChoice = option('--playbook', 'two-tasks');
const keep = args.includes('--keep');
const profile = args.includes('--profile');
const parallel = 20;
const master = `master-bench-${process.pid}`;

function sh(command, argv, options = {}) {
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
}

/** Busy CPU jiffies of the whole machine (dockerd, runc and ansible included). */
function cpuTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return fields.reduce((a, b) => a + b, 0) - fields[3] - fields[4];
}

/** Memory in use on the machine (MemTotal - MemAvailable), in MiB. */
function memoryInUse() {
  const info = Object.fromEntries(readFileSync('/proc/meminfo', 'utf8').split('\n').filter(Boolean).map((line) => {
    const [key, value] = line.split(':');
    return [key, Number.parseInt(value, 10)];
  }));
  return (info.MemTotal - info.MemAvailable) / 1024;
}

/** Disk use of folders, in MiB (du, apparent sizes excluded: what the disk holds). */
function diskUse(dirs) {
  const present = dirs.filter((dir) => existsSync(dir));
  if (present.length === 0) return 0;
  try {
    // -x: never into the overlays the vauban.sh method mounts there (a du inside one makes its umount fail).
    return Number(sh('du', ['-sckx', ...present]).trim().split('\n').at(-1).split(/\s+/)[0]) / 1024;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by the processes named `name` (long-lived daemons). */
function daemonCpu(name, ticksPerSecond) {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== name) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone meanwhile.
    }
  }
  return ticks / ticksPerSecond;
}

/** The commands that used the most CPU in a process accounting file, and the daemons' share. */
function profileReport(file, daemons) {
  const lines = sh('sa', ['--print-seconds', '-a', '-f', file]).split('\n').filter(Boolean);
  const rows = lines.slice(1).map((line) => line.trim().split(/\s+/)).map((cols) => ({ calls: Number(cols[0]), cpu: Number.parseFloat(cols[2]), name: cols.at(-1) }));
  const top = rows.sort((a, b) => b.cpu - a.cpu).slice(0, 12);
  return [...Object.entries(daemons).map(([name, cpu]) => `${name.padEnd(16)} ${cpu.toFixed(1).padStart(6)} s (daemon)`), ...top.map((row) => `${row.name.padEnd(16)} ${row.cpu.toFixed(1).padStart(6)} s in ${row.calls} process(es)`)].join('\n');
}

async function measure(work, diskDirs, label = '') {
  const ticksPerSecond = Number(sh('getconf', ['CLK_TCK']).trim());
  const accounting = profile ? path.join(workDirForProfile, `${label || 'measure'}-${Date.now()}.pacct`) : undefined;
  const daemons = ['dockerd', 'containerd'];
  const daemonsBefore = Object.fromEntries(daemons.map((name) => [name, daemonCpu(name, ticksPerSecond)]));
  if (accounting) {
    writeFileSync(accounting, '');
    sh('accton', [accounting]);
  }
  const memoryBefore = memoryInUse();
  let peakMemory = 0;
  let peakDisk = 0;
  const sampler = setInterval(() => {
    peakMemory = Math.max(peakMemory, memoryInUse() - memoryBefore);
    peakDisk = Math.max(peakDisk, diskUse(diskDirs));
  }, 250);
  const before = cpuTicks();
  const started = process.hrtime.bigint();
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = (cpuTicks() - before) / ticksPerSecond;
  if (accounting) {
    sh('accton', ['off']);
    const used = Object.fromEntries(daemons.map((name) => [name, daemonCpu(name, ticksPerSecond) - daemonsBefore[name]]));
    console.log(`\nprofile of ${label}: wall ${wall.toFixed(1)} s, CPU ${cpu.toFixed(1)} s\n${profileReport(accounting, used)}`);
  }
  return { wall, cpu, memory: peakMemory, disk: peakDisk };
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

/** Runs `task` for every item, `limit` at a time. */
async function pool(items, limit, task) {
  const queue = [...items];
  // Every worker ends before a failure is thrown: none is left mid-task (a mount still up) while the caller cleans up.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  }));
  const failed = settled.find((one) => one.status === 'rejected');
  if (failed) throw failed.reason;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// The fixtures: the cached base image and an Ansible repository with the bench hosts.
execFileSync('bash', [path.join(top, 'scripts/install-deps.sh')], { stdio: 'inherit' });
const work = mkdtempSync('/var/tmp/vauban-bench-');
const workDirForProfile = work;
const baseImage = fixtureBaseImage(top, work);
const repoWork = path.join(work, 'ansible-work');
cpSync(path.join(top, 'test/fixtures/ansible'), repoWork, { recursive: true });
const hosts = Array.from({ length: Math.max(...sizes) }, (_, i) => `bench${String(i + 1).padStart(2, '0')}`);
execFileSync('bash', ['-c', `printf '\\n[bench]\\n' >> inventory; for i in $(seq 1 ${hosts.length}); do printf 'bench%02d http_port=%d\\n' $i $((9000+i)) >> inventory; done`], { cwd: repoWork });
// The acceptance run's shape: a two-task playbook (a per-host template and a line in a file).
writeFileSync(path.join(repoWork, 'pb_two_tasks.yml'), `- hosts: all
  gather_facts: false
  tasks:
    - name: Template the per-host file
      ansible.builtin.template:
        src: templates/motd.j2
        dest: /etc/vauban-fixture
        mode: "0644"
    - name: A line in a configuration file
      ansible.builtin.lineinfile:
        path: /etc/vauban-bench.conf
        line: "port={{ http_port | default('none') }}"
        create: true
        mode: "0644"
`);
const playbook = playbookChoice === 'two-tasks' ? 'pb_two_tasks.yml' : playbookChoice;
// vauban.sh's stage, re-enacted: the repository in a layer, then the play in another.
writeFileSync(path.join(work, 'Dockerfile.vaubansh'), `ARG SOURCE
FROM \${SOURCE}
ARG HOSTNAME
ARG PLAYBOOK
COPY ansible/ /root/ansible/
RUN cd /root/ansible && printf '\\n[all]\\n%s\\n' "$HOSTNAME" >> inventory && ansible-playbook "$PLAYBOOK" --diff -l "$HOSTNAME" -c local -v
`);
sh('git', ['init', '-q', '-b', 'master'], { cwd: repoWork });
sh('git', ['add', '-A'], { cwd: repoWork });
sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@vauban.invalid', 'commit', '-q', '-m', 'bench'], { cwd: repoWork });
const cwd = path.join(work, 'project');
const vaubanWork = path.join(work, 'vauban-work');
const vaubanShOut = path.join(work, 'vaubansh');
mkdirSync(cwd);
mkdirSync(vaubanWork);
mkdirSync(vaubanShOut);
const contextDir = path.join(work, 'context');
mkdirSync(contextDir);
cpSync(repoWork, path.join(contextDir, 'ansible'), { recursive: true });
cpSync(path.join(work, 'Dockerfile.vaubansh'), path.join(contextDir, 'Dockerfile'));
const env = { PATH: process.env.PATH, HOME: work, ANSIBLE_REPO: repoWork, VAULTED_SSHD_KEYS_KEY: 'bench', VAUBAN_WORK_DIR: vaubanWork, VAUBAN_LOG_DIR: path.join(work, 'logs') };
const vauban = (argv) => run(process.execPath, [path.join(top, 'bin/vauban.js'), ...argv], { cwd, env });
const imagesBefore = new Set(sh('docker', ['image', 'ls', '-aq', '--no-trunc']).split('\n').filter(Boolean));

/** umount, tried again for a few seconds while something still reads the mount (EBUSY). */
async function unmount(target) {
  for (let attempt = 1; ; attempt++) {
    try {
      await run('umount', [target]);
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** vauban.sh's conffs of one host: a no-cache build, its own layers mounted as one overlay, tar.gz. */
async function vaubanShHost(host, round) {
  const tag = `${master}/vaubansh-${host}-${round}`;
  await run('docker', ['build', '--no-cache', '-q', '-t', tag, '--build-arg', `SOURCE=${master}`, '--build-arg', `HOSTNAME=${host}`, '--build-arg', `PLAYBOOK=${playbook}`, contextDir]);
  const data = JSON.parse(sh('docker', ['image', 'inspect', '--format', '{{json .GraphDriver.Data}}', tag]));
  const own = [data.UpperDir, ...data.LowerDir.split(':').slice(0, 1)];
  const target = path.join(vaubanShOut, `${host}-${round}`);
  mkdirSync(target, { recursive: true });
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${own.join(':')}`, target]);
  try {
    await run('tar', ['-czf', `${target}.tgz`, '-C', target, '--exclude=./var/log', '--exclude=./var/cache', '--exclude=./root/ansible', '.']);
  } finally {
    await unmount(target);
  }
  await run('docker', ['image', 'rm', '-f', tag]);
}

const results = [];
try {
  console.log(`building the bench master ${master} from ${baseImage} ...`);
  await vauban(['-f', baseImage, '-n', master, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml']);
  // Each host's sshd keys exist before the rounds: the vault's first-time key generation is not what is measured.
  await vauban(['-r', 'no', '-s', master, '-n', master, '-a', 'bench*', '-i', 'no', '-u', 'no', playbook]);

  for (const size of sizes) {
    const selection = hosts.slice(0, size);
    const figures = { floor: [], vaubansh: [], ours: [] };
    for (let round = 0; round < rounds; round++) {
      figures.floor.push(await measure(() => pool(selection, parallel, (host) =>
        run('docker', [
          'run', '--rm', '-v', `${repoWork}:/src:ro`, master, 'bash', '-euc',
          `cp -r /src /tmp/ansible && cd /tmp/ansible && ansible-playbook ${playbook} --diff -l ${host} -c local -v > /dev/null`,
        ])), [], `floor, ${size} hosts`));
      figures.vaubansh.push(await measure(() => pool(selection, parallel, (host) => vaubanShHost(host, round)), [vaubanShOut], `vauban.sh, ${size} hosts`));
      rmSync(vaubanShOut, { recursive: true, force: true });
      mkdirSync(vaubanShOut);
      figures.ours.push(await measure(() =>
        // --no-cache: every round builds every host (an earlier round's archives are not reused).
        vauban(['-r', 'no', '-s', master, '-n', master, '-a', selection.join(','), '-i', 'no', '-u', 'no', '--no-cache', '-j', String(parallel), playbook]),
      [vaubanWork, path.join(cwd, 'overlayfs')], `ours, ${size} hosts`));
      rmSync(path.join(cwd, 'overlayfs'), { recursive: true, force: true });
    }
    const summary = Object.fromEntries(Object.entries(figures).map(([method, list]) => [method, {
      wall: median(list.map((one) => one.wall)),
      cpu: median(list.map((one) => one.cpu)),
      memory: Math.max(...list.map((one) => one.memory)),
      disk: Math.max(...list.map((one) => one.disk)),
    }]));
    results.push({ size, ...summary });
    const { floor, vaubansh, ours } = summary;
    console.log(`${size} host(s), median of ${rounds}: floor ${floor.wall.toFixed(1)} s | vauban.sh ${vaubansh.wall.toFixed(1)} s (${(vaubansh.wall / floor.wall).toFixed(2)}) | ours ${ours.wall.toFixed(1)} s (${(ours.wall / floor.wall).toFixed(2)})`);
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
  if (!keep) {
    try {
      rmSync(work, { recursive: true, force: true });
    } catch (error) {
      // Said, not thrown: an error here would hide the one that ended the rounds.
      console.error(`could not remove ${work}: ${error.message}`);
    }
  }
}

const cell = (value, width, digits = 1) => value.toFixed(digits).padStart(width);
console.log(`\nplaybook ${playbook}, ${parallel} hosts at a time, median of ${rounds} round(s); CPU = whole machine; memory = peak above the start; disk = peak of the work folders`);
console.log('hosts | method    |  wall (s) |  CPU (s) | / floor (wall) | / floor (CPU) | peak mem (MiB) | peak disk (MiB)');
for (const result of results) {
  for (const method of ['floor', 'vaubansh', 'ours']) {
    const one = result[method];
    const name = { floor: 'floor', vaubansh: 'vauban.sh', ours: 'ours' }[method];
    console.log(`${String(result.size).padStart(5)} | ${name.padEnd(9)} | ${cell(one.wall, 9)} | ${cell(one.cpu, 8)} | ${cell(one.wall / result.floor.wall, 14, 2)} | ${cell(one.cpu / result.floor.cpu, 13, 2)} | ${cell(one.memory, 14, 0)} | ${cell(one.disk, 15, 0)}`);
  }
}
