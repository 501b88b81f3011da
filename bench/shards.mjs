#!/usr/bin/env node
// Benchmark of conffs spread over shards (issue 29). On one master pushed to a
// registry, with 48 hosts (bench01..bench48 added to the fixture inventory):
//   - one engine, every host: `vauban -r no -s <master> -a bench ...` (wall);
//   - one engine, one host: the fixed cost of a run (preflight, hosts, vault);
//   - the master's pull by a runner that does not have it (the second test
//     engine, tcp://127.0.0.1:23750, image removed first);
//   - the three shards of the 48 hosts, each alone on the second engine after
//     removing its master (as three fresh runners would, one after the other
//     on this machine so that each has the machine to itself): the conffs
//     stage of a pipeline on three runners lasts as long as its longest shard;
//   - the same three shards at once on this 2-core machine, for reference.
// Then a model, T(N) = pull + fixed + (largest share) x per-host, for 1,000
// hosts over 1, 4 and 16 shards, and the model against the measured 3 shards.
// Uploads and the promote are left out (a share is a few small files; the
// promote of a staged release took 3.8 s in test/shards.test.ts).
//
//   node bench/shards.mjs [--keep]
//
// Needs what the integration tests need (scripts/install-deps.sh, and
// test/setup/start-services.sh for the second engine). Removes its images,
// registry and folders at the end.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureBaseImage } from './fixture-base.mjs';

const top = fileURLToPath(new URL('../', import.meta.url));
const keep = process.argv.includes('--keep');
const HOSTS = 48;
const SHARDS = 3;
const ENGINE2 = 'tcp://127.0.0.1:23750';
const master = `master-bench-shards-${process.pid}`;
const vaubanBin = path.join(top, 'bin', 'vauban.js');
const { shardOf } = await import(path.join(top, 'dist/src/model/shard.js'));

function sh(command, argv, options = {}) {
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
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

async function timed(work) {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const work = mkdtempSync('/var/tmp/vauban-bench-shards-');
const imageList = (engine) => new Set(sh('docker', ['image', 'ls', '-aq', '--no-trunc'], { env: { ...process.env, ...(engine ? { DOCKER_HOST: engine } : {}) } }).split('\n').filter(Boolean));
const imagesBefore = [imageList(undefined), imageList(ENGINE2)];
let registry;
try {
  // A registry on loopback, with basic auth as vauban's login expects it.
  const registryDir = path.join(work, 'registry');
  mkdirSync(path.join(registryDir, 'data'), { recursive: true });
  const password = `bench-${process.pid}`;
  sh('bash', ['-c', 'printf "%s\\n" "$1" | htpasswd -iBn bench > "$2"', '_', password, path.join(registryDir, 'htpasswd')]);
  const host = `127.0.0.1:${await freePort()}`;
  writeFileSync(path.join(registryDir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${registryDir}/data\nhttp:\n  addr: ${host}\nauth:\n  htpasswd:\n    realm: bench\n    path: ${registryDir}/htpasswd\n`);
  registry = spawn('docker-registry', ['serve', path.join(registryDir, 'config.yml')], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 1500));

  // The fixture repository, 48 more hosts in a group of their own.
  const repoWork = path.join(work, 'ansible-work');
  cpSync(path.join(top, 'test/fixtures/ansible'), repoWork, { recursive: true });
  rmSync(path.join(repoWork, 'requirements.yml'), { force: true });
  sh('bash', ['-c', `printf '\\n[bench]\\n' >> inventory; for i in $(seq 1 ${HOSTS}); do printf 'bench%02d http_port=%d\\n' $i $((9000+i)) >> inventory; done`], { cwd: repoWork });
  sh('git', ['init', '-q', '-b', 'master'], { cwd: repoWork });
  sh('git', ['add', '-A'], { cwd: repoWork });
  sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@vauban.invalid', 'commit', '-q', '-m', 'bench'], { cwd: repoWork });
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    ANSIBLE_REPO: `file://${repoWork}`,
    ANSIBLE_PACKAGES: 'ansible-core',
    VAULTED_SSHD_KEYS_KEY: 'bench-passphrase',
    SQUASHFS_COMPRESSION: 'zstd',
    REGISTRY_HOSTNAME: host,
    REGISTRY_USERNAME: 'bench',
    REGISTRY_PASSWORD: password,
  };
  const vauban = (cwd, args, extra = {}) => run(process.execPath, [vaubanBin, ...args], { cwd, env: { ...env, ...extra } });
  const project = (name) => {
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const dropOnEngine2 = () => {
    for (const image of [master, `${host}/vauban/${master}`]) {
      try {
        sh('docker', ['image', 'rm', '-f', image], { env: { ...process.env, DOCKER_HOST: ENGINE2 } });
      } catch {
        // not there
      }
    }
  };

  console.log(`master ${master}: built from the fixture base and pushed to ${host} ...`);
  await vauban(project('master'), ['-f', fixtureBaseImage(top, work), '-n', master, '-i', 'no', '-l', 'no', '-u', 'no', 'pb_base.yml']);
  // Every later run in its own folder but with the same vault: the sshd keys of the first, so that no run pays for keygen alone.
  const stages = ['pb_base.yml'];
  const conffs = (cwd, pattern, extra = [], envExtra = {}) => vauban(cwd, ['-r', 'no', '-s', master, '-n', master, '-a', pattern, '-i', 'no', '-u', 'no', '--no-cache', ...extra, ...stages], envExtra);
  await conffs(project('warm'), 'bench');
  const withVault = (name) => {
    const dir = project(name);
    cpSync(path.join(work, 'warm', 'vault'), path.join(dir, 'vault'), { recursive: true });
    return dir;
  };

  const say = (text) => console.log(`  ${text}`);
  const all = await timed(() => conffs(withVault('all'), 'bench'));
  say(`one engine, ${HOSTS} hosts: ${all.toFixed(1)} s`);
  const one = await timed(() => conffs(withVault('one'), 'bench01'));
  say(`one engine, 1 host: ${one.toFixed(1)} s`);
  dropOnEngine2();
  const pull = await timed(() => run('docker', ['pull', '-q', `${host}/vauban/${master}:latest`], { env: { ...process.env, DOCKER_HOST: ENGINE2, DOCKER_CONFIG: path.join(work, 'docker-config') } }).catch(async () => {
    // The registry asks for a login: as a runner would, once.
    sh('bash', ['-c', 'printf "%s" "$1" | docker login -u bench --password-stdin "$2" >/dev/null', '_', password, host], { env: { ...process.env, DOCKER_HOST: ENGINE2, DOCKER_CONFIG: path.join(work, 'docker-config') } });
    return run('docker', ['pull', '-q', `${host}/vauban/${master}:latest`], { env: { ...process.env, DOCKER_HOST: ENGINE2, DOCKER_CONFIG: path.join(work, 'docker-config') } });
  }));

  say(`master pull: ${pull.toFixed(1)} s`);
  const names = Array.from({ length: HOSTS }, (_, index) => `bench${String(index + 1).padStart(2, '0')}`);
  const shares = Array.from({ length: SHARDS }, (_, index) => names.filter((name) => shardOf(name, SHARDS) === index + 1).length);
  const alone = [];
  for (let index = 1; index <= SHARDS; index++) {
    dropOnEngine2();
    alone.push(await timed(() => conffs(withVault(`shard-${index}`), 'bench', ['--shard', `${index}/${SHARDS}`], { DOCKER_HOST: ENGINE2 })));
    say(`shard ${index}/${SHARDS} alone on a fresh engine: ${alone.at(-1).toFixed(1)} s`);
  }
  dropOnEngine2();
  // On one 2-core machine, three runs of 20 containers each: a measure of contention, which may fail a host.
  let together = Number.NaN;
  try {
    together = await timed(() => Promise.all(Array.from({ length: SHARDS }, (_, index) => conffs(withVault(`together-${index + 1}`), 'bench', ['--shard', `${index + 1}/${SHARDS}`], index === 0 ? {} : { DOCKER_HOST: ENGINE2 }))));
  } catch (error) {
    say(`${SHARDS} shards at once on this machine: FAILED (${error.message.split('\n').find((line) => /\[KO\]|failed/.test(line)) ?? 'see above'})`);
  }

  const perHost = (all - one) / (HOSTS - 1);
  const fixed = one - perHost;
  const model = (hosts, shards, largest = Math.ceil(hosts / shards)) => (shards > 1 ? pull : 0) + fixed + largest * perHost;
  const f = (seconds) => `${seconds.toFixed(1)} s`;
  console.log(`
measured on this machine (${sh('nproc', []).trim()} cores), conffs of the fixture's pb_base.yml, -j 20:
  one engine, ${HOSTS} hosts                    ${f(all)}   (${(all / HOSTS).toFixed(2)} s a host, all in)
  one engine, 1 host                        ${f(one)}
  => per host ${perHost.toFixed(2)} s, fixed cost of a run ${f(fixed)}
  master pull by a runner without it        ${f(pull)}
  ${SHARDS} shards, each alone on a fresh engine  ${alone.map(f).join(', ')} (shares of ${shares.join(', ')} hosts): a pipeline's conffs stage ${f(Math.max(...alone))}
  ${SHARDS} shards at once on this machine        ${Number.isNaN(together) ? 'failed' : f(together)} (two engines, one machine: not a model of ${SHARDS} runners)

model T(N) = pull + fixed + largest share x per host (N = 1: no pull):
  ${SHARDS} shards of ${HOSTS} hosts, model ${f(model(HOSTS, SHARDS, Math.max(...shares)))} against ${f(Math.max(...alone))} measured (${((model(HOSTS, SHARDS, Math.max(...shares)) / Math.max(...alone) - 1) * 100).toFixed(0)} %)
  1,000 hosts:  1 shard ${f(model(1000, 1))} (${(model(1000, 1) / 60).toFixed(1)} min), 4 shards ${f(model(1000, 4))} (${(model(1000, 4) / 60).toFixed(1)} min), 16 shards ${f(model(1000, 16))} (${(model(1000, 16) / 60).toFixed(1)} min)
  (the largest share of 1,000 names: ${[4, 16].map((n) => `${Math.max(...Array.from({ length: n }, (_, index) => Array.from({ length: 1000 }, (_, host) => `host${host + 1}`).filter((name) => shardOf(name, n) === index + 1).length))} of ${n} shards, ${Math.ceil(1000 / n)} if even`).join('; ')})`);
} finally {
  registry?.kill('SIGTERM');
  // The images this bench made, on both engines: every id that was not there before (their tags go with them).
  for (const [index, engine] of [undefined, ENGINE2].entries()) {
    const made = [...imageList(engine)].filter((id) => !imagesBefore[index].has(id));
    try {
      if (made.length > 0) sh('docker', ['image', 'rm', '-f', ...made], { env: { ...process.env, ...(engine ? { DOCKER_HOST: engine } : {}) } });
    } catch (error) {
      console.error(`cleanup: ${error.message.split('\n')[0]}`);
    }
  }
  if (!keep) rmSync(work, { recursive: true, force: true });
}
