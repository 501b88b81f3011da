#!/usr/bin/env node
// Benchmark of incremental builds (issue 12). A tree of three masters from the
// fixture raw image (base: pb_base.yml; web: feature@pb_web.yml on base; leaf:
// leaf@pb_leaf.yml on base) plus the conffs of four hosts (web01..03, db01) of
// web (its chain of stages replayed, as vauban-ci does), built three times in one fresh project folder:
//   full       from scratch (--no-cache: nothing of an earlier run is reused);
//   unchanged  the same invocations again;
//   one leaf   after a one-line change of pb_leaf.yml, committed on branch leaf;
//   one host   after one host's variable changed in the inventory (web02's
//              http_port), committed on branches master and feature (issue 28).
// Prints the four wall times and the three ratios (issue targets: unchanged
// <= 5 %, one leaf <= 25 % of the full build), and issue 28's: the one-host
// change against the full build of the two-stage master web (pb_base.yml, then
// feature@pb_web.yml) and its two hosts web01 and web02 (<= 10 %). Not part of CI.
//
//   sudo node bench/incremental.mjs [--keep] [--debug]   (--keep: the folder and the images stay, to look into)
//
// Needs what the integration tests need (scripts/install-deps.sh) and dist/
// (npm run build); uses the cached fixture base image (built if missing).
// Removes its images and folders at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureBaseImage } from './fixture-base.mjs';

const top = fileURLToPath(new URL('../', import.meta.url));
const keep = process.argv.includes('--keep');
// --debug: every invocation logs its details (in the kept folder's vauban.log, with --keep): where a slow rebuild spends its time.
const debug = process.argv.includes('--debug') ? ['--debug'] : [];
const id = `${process.pid}-${Date.now().toString(36)}`;
const names = { base: `master-bench-incr-base-${id}`, web: `master-bench-incr-web-${id}`, leaf: `master-bench-incr-leaf-${id}` };

const sh = (command, argv, options = {}) => execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
const imageIds = () => new Set(sh('docker', ['image', 'ls', '-aq', '--no-trunc']).split('\n').filter(Boolean));

const work = mkdtempSync('/var/tmp/vauban-bench-incr-');
const cwd = path.join(work, 'project');
mkdirSync(cwd);
const log = path.join(work, 'vauban.log');
const baseImage = fixtureBaseImage(top, work);

// The Ansible repository: the fixture (lean: ansible-core), a leaf playbook, branches feature and leaf.
const repoWork = path.join(work, 'ansible-work');
const bare = path.join(work, 'ansible.git');
cpSync(path.join(top, 'test/fixtures/ansible'), repoWork, { recursive: true });
rmSync(path.join(repoWork, 'requirements.yml'), { force: true });
const git = (...argv) => sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@vauban.invalid', ...argv], { cwd: repoWork });
const leafPlaybook = (line) => `- hosts: all
  gather_facts: false
  tasks:
    - name: The leaf's file
      ansible.builtin.copy:
        content: "${line}\\n"
        dest: /etc/vauban-leaf
        mode: "0644"
`;
writeFileSync(path.join(repoWork, 'pb_leaf.yml'), leafPlaybook('leaf v1'));
writeFileSync(path.join(repoWork, 'pb_web.yml'), `- hosts: all
  gather_facts: false
  tasks:
    - name: Template the web configuration
      ansible.builtin.copy:
        content: "listen {{ http_port | default('80') }} on {{ inventory_hostname }}\\n"
        dest: /etc/vauban-web.conf
        mode: "0644"
`);
git('init', '-q', '-b', 'master');
git('add', '-A');
git('commit', '-q', '-m', 'bench');
git('branch', 'feature');
git('branch', 'leaf');
sh('git', ['clone', '-q', '--bare', repoWork, bare]);
mkdirSync(path.join(work, 'home'));
const env = {
  PATH: process.env.PATH,
  HOME: path.join(work, 'home'),
  ANSIBLE_REPO: `file://${bare}`,
  ANSIBLE_PACKAGES: 'ansible-core',
  VAULTED_SSHD_KEYS_KEY: 'bench-incremental',
  VAUBAN_LOG_DIR: path.join(work, 'logs'),
};

const common = ['-i', 'no', '-u', 'no', '--compression', 'zstd'];
const invocations = [
  ['-f', baseImage, '-n', names.base, '-l', 'no', ...common, 'pb_base.yml'],
  ['-s', names.base, '-n', names.web, '-l', 'no', ...common, 'feature@pb_web.yml'],
  ['-s', names.base, '-n', names.leaf, '-l', 'no', ...common, 'leaf@pb_leaf.yml'],
  // As vauban-ci builds a master's conffs: on the master, its whole chain of stages replayed; in two jobs, so that
  // the case (the two-stage master web with two hosts: invocations 0, 1 and 3) is timed within the tree.
  ['-r', 'no', '-s', names.web, '-n', names.web, '-a', 'web01,web02', ...common, 'pb_base.yml', 'feature@pb_web.yml'],
  ['-r', 'no', '-s', names.web, '-n', names.web, '-a', 'web03,db01', ...common, 'pb_base.yml', 'feature@pb_web.yml'],
];
/** The invocations of the two-stage master web (pb_base.yml on base, then pb_web.yml) and its hosts web01, web02 (issue 28). */
const TWO_STAGE_MASTER = [0, 1, 3];

function buildTree(label, extra = []) {
  const started = Date.now();
  const each = [];
  const built = [];
  for (const argv of invocations) {
    const one = Date.now();
    appendFileSync(log, `\n$ vauban ${[...argv, ...extra, ...debug].join(' ')}\n`);
    const result = spawnSync(process.execPath, [path.join(top, 'bin/vauban.js'), ...argv, ...extra, ...debug], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 28 });
    appendFileSync(log, `${result.stdout}${result.stderr}\n[exit ${result.status}]\n`);
    if (result.status !== 0) throw new Error(`${label}: vauban ${argv.join(' ')} failed (exit ${result.status}); see ${log}`);
    each.push(((Date.now() - one) / 1000).toFixed(1));
    for (const match of `${result.stdout}${result.stderr}`.matchAll(/^\S*\s+build (?:image|artifact|conffs) (\S+):/gm)) built.push(match[1]);
  }
  // Each invocation's time: where a slow rebuild spends it; and what was built.
  console.log(`${label}: ${each.join(' + ')} s; built: ${built.join(', ') || 'nothing'}`);
  return { total: (Date.now() - started) / 1000, master: TWO_STAGE_MASTER.reduce((sum, index) => sum + Number(each[index]), 0) };
}

const before = imageIds();
try {
  const { total: full, master: fullMaster } = buildTree('full', ['--no-cache']);
  const { total: unchanged } = buildTree('unchanged');
  // One line of the leaf's playbook, on its branch.
  git('checkout', '-q', 'leaf');
  writeFileSync(path.join(repoWork, 'pb_leaf.yml'), leafPlaybook('leaf v2'));
  git('commit', '-q', '-am', 'one line of the leaf');
  git('push', '-q', bare, 'leaf');
  const { total: leaf } = buildTree('one leaf');
  // One host's variable, on every branch the tree reads.
  for (const branch of ['master', 'feature']) {
    git('checkout', '-q', branch);
    const inventory = path.join(repoWork, 'inventory');
    writeFileSync(inventory, readFileSync(inventory, 'utf8').replace('web02 http_port=8082', 'web02 http_port=9092'));
    git('commit', '-q', '-am', 'web02 listens on 9092');
    git('push', '-q', bare, branch);
  }
  const { total: host, master: hostMaster } = buildTree('one host');
  const percent = (value, of = full) => `${((100 * value) / of).toFixed(1)} %`;
  console.log(`full build from scratch: ${full.toFixed(1)} s`);
  console.log(`unchanged rebuild:       ${unchanged.toFixed(1)} s (${percent(unchanged)} of full; target <= 5 %)`);
  console.log(`one-leaf change:         ${leaf.toFixed(1)} s (${percent(leaf)} of full; target <= 25 %)`);
  console.log(`one host's variable:     ${host.toFixed(1)} s (${percent(host)} of full, the whole tree)`);
  console.log(`  the two-stage master web and its two hosts: ${hostMaster.toFixed(1)} s of ${fullMaster.toFixed(1)} s (${percent(hostMaster, fullMaster)}; issue 28's target <= 10 %)`);
} finally {
  const created = [...imageIds()].filter((image) => !before.has(image));
  if (keep) console.log(`kept ${work} and the images ${Object.values(names).join(' ')} (docker image rm -f ${created.join(' ')})`);
  else if (created.length > 0) spawnSync('docker', ['image', 'rm', '-f', ...created], { stdio: 'ignore' });
  if (keep) console.log(`env: HOME=${env.HOME} ANSIBLE_REPO=${env.ANSIBLE_REPO} ANSIBLE_PACKAGES=${env.ANSIBLE_PACKAGES} VAULTED_SSHD_KEYS_KEY=${env.VAULTED_SSHD_KEYS_KEY} VAUBAN_LOG_DIR=${env.VAUBAN_LOG_DIR}, in ${cwd}`);
  else rmSync(work, { recursive: true, force: true });
}
