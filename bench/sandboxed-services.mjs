#!/usr/bin/env node
// Survey of issue 25: common Debian server packages whose units sandbox
// themselves, installed in a stage built by vauban from the fixture base, then
// each service started and restarted in a stage container, alone, and
// reported active or not: once with every unit as written
// (BUILD_RELAX_SANDBOX=no, vauban before issue 25) and once with vauban's
// build-only relaxation (the default). Then the cost of the relaxation: the
// stage time of pb_base.yml with it and without, in interleaved pairs.
// Not part of CI: it downloads ~300 MB of packages from the Debian mirror.
//
//   sudo node bench/sandboxed-services.mjs [--pairs N] [--keep]
//
// Needs what the integration tests need (scripts/install-deps.sh) and dist/
// (npm run build); uses the cached fixture base image (built if missing).
// Removes its images and folders at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureBaseImage } from './fixture-base.mjs';

const top = fileURLToPath(new URL('../', import.meta.url));
const keep = process.argv.includes('--keep');
const pairsAt = process.argv.indexOf('--pairs');
const pairs = pairsAt > 0 ? Number(process.argv[pairsAt + 1]) : 3;
const id = `${process.pid}-${Date.now().toString(36)}`;

// package -> its service. Each unit sandboxes itself one way or another (the
// directives found are printed from the unit as installed); services that
// listen on the same port are tested one at a time, each stopped after.
const SERVICES = {
  'redis-server': 'redis-server',
  memcached: 'memcached',
  'mariadb-server': 'mariadb',
  postgresql: 'postgresql@15-main',
  unbound: 'unbound',
  'pdns-recursor': 'pdns-recursor',
  'knot-resolver': 'kresd@1',
  knot: 'knot',
  bind9: 'named',
  chrony: 'chrony',
  haproxy: 'haproxy',
  varnish: 'varnish',
  squid: 'squid',
  'prometheus-node-exporter': 'prometheus-node-exporter',
  'prometheus-blackbox-exporter': 'prometheus-blackbox-exporter',
  rsyslog: 'rsyslog',
  mosquitto: 'mosquitto',
  tor: 'tor@default',
  vnstat: 'vnstat',
  'fail2ban': 'fail2ban',
  lldpd: 'lldpd',
  nginx: 'nginx',
};
const DIRECTIVES = ['PrivateUsers', 'DynamicUser', 'ProtectSystem', 'ProtectHome', 'PrivateDevices', 'PrivateTmp', 'RestrictNamespaces', 'ProtectKernelTunables', 'ProtectControlGroups', 'ProtectProc', 'ProtectHostname', 'ProtectClock', 'SystemCallFilter', 'CapabilityBoundingSet', 'BindPaths', 'BindReadOnlyPaths', 'TemporaryFileSystem'];

const sh = (command, argv, options = {}) => execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
const imageIds = () => new Set(sh('docker', ['image', 'ls', '-aq', '--no-trunc']).split('\n').filter(Boolean));
const imagesBefore = imageIds();

const work = mkdtempSync('/var/tmp/vauban-bench-sandbox-');
const cwd = path.join(work, 'project');
mkdirSync(cwd);
const baseImage = fixtureBaseImage(top, work);

// The Ansible repository: the fixture (lean) plus the survey's two playbooks.
const repoWork = path.join(work, 'ansible-work');
const bare = path.join(work, 'ansible.git');
cpSync(path.join(top, 'test/fixtures/ansible'), repoWork, { recursive: true });
rmSync(path.join(repoWork, 'requirements.yml'), { force: true });
const packages = Object.keys(SERVICES);
writeFileSync(path.join(repoWork, 'pb_survey_install.yml'), `# The survey's packages, none started by its maintainer scripts (policy-rc.d).
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy: { content: "#!/bin/sh\\nexit 101\\n", dest: /usr/sbin/policy-rc.d, mode: "0755" }
    - ansible.builtin.apt: { name: ${JSON.stringify(packages)}, update_cache: true, install_recommends: false }
    - ansible.builtin.file: { path: /usr/sbin/policy-rc.d, state: absent }
`);
const check = `set -u
: > /root/vauban-survey.tsv
for pair in ${Object.entries(SERVICES).map(([pkg, unit]) => `${pkg}=${unit}`).join(' ')}; do
  unit=\${pair#*=}
  directives=$(systemctl cat "$unit" 2>/dev/null | grep -oE '^(${DIRECTIVES.join('|')})=\\S*' | sort -u | tr '\\n' ' ')
  systemctl start "$unit" >/dev/null 2>&1; sleep 2; started=$(systemctl is-active "$unit")
  systemctl restart "$unit" >/dev/null 2>&1; sleep 2; restarted=$(systemctl is-active "$unit")
  why=$(systemctl show -p Result,ExecMainStatus,ConditionResult "$unit" | tr '\\n' ' ')
  printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$pair" "$started" "$restarted" "$why" "$directives" >> /root/vauban-survey.tsv
  systemctl stop "$unit" >/dev/null 2>&1 || true
done
cat /root/vauban-survey.tsv`;
writeFileSync(path.join(repoWork, 'pb_survey_check.yml'), `# Each service alone: started, restarted, its state recorded, stopped.
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.shell: ${JSON.stringify(check)}
      args: { executable: /bin/bash }
      changed_when: false
`);
const git = (...argv) => sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@vauban.invalid', ...argv], { cwd: repoWork });
git('init', '-q', '-b', 'master');
git('add', '-A');
git('commit', '-q', '-m', 'survey');
sh('git', ['clone', '-q', '--bare', repoWork, bare]);

const env = { ...process.env, ANSIBLE_REPO: `file://${bare}`, ANSIBLE_PACKAGES: 'ansible-core', VAULTED_SSHD_KEYS_KEY: `bench-${id}`, VAUBAN_LOG_DIR: path.join(work, 'logs'), NO_COLOR: '1' };

/** One vauban run; its --json document (exits on failure unless `mayFail`). */
function vauban(argv, extraEnv = {}, mayFail = false) {
  const result = spawnSync(process.execPath, [path.join(top, 'bin/vauban.js'), '--json', ...argv], { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', maxBuffer: 1 << 28 });
  writeFileSync(path.join(work, `run-${Date.now()}.log`), result.stderr);
  if (result.status !== 0 && !mayFail) {
    console.error(result.stderr.split('\n').slice(-40).join('\n'));
    throw new Error(`vauban ${argv.join(' ')} exited with ${result.status}`);
  }
  return JSON.parse(result.stdout);
}

function survey(name, extraEnv) {
  vauban(['-s', installed, '-n', name, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_survey_check.yml'], extraEnv);
  return sh('docker', ['run', '--rm', '--entrypoint', 'cat', name, '/root/vauban-survey.tsv'])
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'))
    // A unit without sandbox directives ends its line with an empty field: missing fields are empty, not undefined.
    .map(([pair = '', started = '', restarted = '', why = '', directives = '']) => ({ pair, started, restarted, why, directives }));
}

const installed = `survey-installed-${id}`;
try {
  console.error(`installing ${packages.length} packages in a stage of the fixture base...`);
  vauban(['-f', baseImage, '-n', installed, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_survey_install.yml']);
  console.error('services with every unit as written (BUILD_RELAX_SANDBOX=no)...');
  const before = survey(`survey-before-${id}`, { BUILD_RELAX_SANDBOX: 'no' });
  console.error('services with the build-only relaxation (default)...');
  const after = survey(`survey-after-${id}`, {});

  console.log('| package=unit | before: start / restart | after: start / restart | sandbox directives of the unit | after: systemd says |');
  console.log('|---|---|---|---|---|');
  for (const [index, one] of after.entries()) {
    const old = before[index];
    console.log(`| ${one.pair} | ${old.started} / ${old.restarted} | ${one.started} / ${one.restarted} | ${old.directives.trim()} | ${one.why.trim()} |`);
  }
  const active = (rows) => rows.filter((row) => row.started === 'active' && row.restarted === 'active').length;
  console.log(`\nactive after start and restart: before ${active(before)}/${before.length}, after ${active(after)}/${after.length}`);

  // The cost: pb_base.yml's stage on the fixture base with and without the relaxation, interleaved.
  const seconds = { relaxed: [], strict: [] };
  for (let pair = 0; pair < pairs; pair += 1) {
    for (const kind of pair % 2 === 0 ? ['relaxed', 'strict'] : ['strict', 'relaxed']) {
      const run = vauban(['-s', installed, '-n', `survey-cost-${kind}-${pair}-${id}`, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml'], kind === 'strict' ? { BUILD_RELAX_SANDBOX: 'no' } : {});
      const step = run.result.steps.find((one) => one.step === 'apply_stages');
      seconds[kind].push(step.seconds);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`stage pb_base.yml (apply_stages, s), ${pairs} interleaved pairs: relaxed ${seconds.relaxed.map((s) => s.toFixed(2)).join(' ')} (median ${median(seconds.relaxed).toFixed(2)}), as written ${seconds.strict.map((s) => s.toFixed(2)).join(' ')} (median ${median(seconds.strict).toFixed(2)})`);
} finally {
  if (keep) console.error(`kept: ${work} and the images`);
  else {
    const created = [...imageIds()].filter((one) => !imagesBefore.has(one));
    if (created.length > 0) spawnSync('docker', ['image', 'rm', '-f', ...created], { stdio: 'ignore' });
    for (const name of sh('docker', ['image', 'ls', '--format', '{{.Repository}}']).split('\n').filter((one) => one.endsWith(id))) spawnSync('docker', ['image', 'rm', '-f', name], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
}

