// Issue 4: conffs for a fleet on real components. A master is built from the
// fixture, then conffs for hosts of the fixture inventory: per-host files and
// sshd keys, a failing host, a deletion, both entry points of A2, and no
// mount, loop device or container left behind.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVaultEntry } from '../src/vault/vault.js';
import { fixtureBaseImage, makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { watchConffsLogs, type LogWatch, CONFFS_LOG_DIR } from './helpers/logs.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, layerDirs, removeNewImages } from './helpers/images.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { runVauban, tail } from './helpers/vauban.js';

const PASSPHRASE = 'vault-passphrase-conffs-test';
const MASTER = uniqueName('master-itest-conffs').toLowerCase();

let work: string;
let cwd: string;
let log: string;
let baseImage: string;
let repo: AnsibleRepo;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let logs: LogWatch;

function vauban(args: string[]) {
  return runVauban('vauban', args, { cwd, env, log });
}

/** The conffs archives of the last runs: overlayfs/<time>-overlayfs-<host>/conffs-<host>.tgz, by host. */
function conffsArchives(): Map<string, string> {
  const found = new Map<string, string>();
  const dir = path.join(cwd, 'overlayfs');
  if (!existsSync(dir)) return found;
  for (const folder of readdirSync(dir).sort()) {
    const match = /^\d{4}-\d{2}-\d{2}T[\d:]+Z-overlayfs-(.+)$/.exec(folder);
    if (match) found.set(match[1] as string, path.join(dir, folder, `conffs-${match[1]}.tgz`));
  }
  return found;
}

async function listArchive(file: string): Promise<string[]> {
  return (await sh('tar', ['-tzf', file])).split('\n').filter(Boolean);
}

async function readFromArchive(file: string, member: string): Promise<Buffer> {
  const { execa } = await import('execa');
  const result = await execa('tar', ['-xzOf', file, member], { encoding: 'buffer', stripFinalNewline: false });
  return Buffer.from(result.stdout as Uint8Array);
}

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  logs = watchConffsLogs();
  work = mkdtempSync('/var/tmp/vauban-itest-conffs-');
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  log = path.join(work, 'vauban.log');
  baseImage = await fixtureBaseImage();
  repo = await makeAnsibleRepo(work);
  mkdirSync(path.join(work, 'home'));
  env = { HOME: path.join(work, 'home'), ...repo.settings, VAULTED_SSHD_KEYS_KEY: PASSPHRASE };
  const run = await vauban(['-f', baseImage, '-n', MASTER, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml']);
  expect(run.exitCode, tail(run)).toBe(0);
}, 900_000);

afterAll(async () => {
  await removeNewImages(imagesBefore);
  logs.remove();
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

describe('conffs of three hosts of a group', () => {
  let run: Awaited<ReturnType<typeof vauban>>;
  beforeAll(async () => {
    // `masters` brings master-* hosts into the pattern: they must not be built.
    run = await vauban(['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web,masters', '-l', 'yes', '-i', 'no', '-u', 'no', 'pb_base.yml']);
  }, 900_000);

  it('succeeds and lists every host [OK] with its log', () => {
    expect(run.exitCode, tail(run)).toBe(0);
    for (const host of ['web01', 'web02', 'web03']) expect(run.output).toMatch(new RegExp(`\\[OK\\] ${host}\\s+\\(log: /var/log/vauban/${MASTER}-${host}-`));
    expect(run.output).not.toMatch(/\[OK\] master-/);
  });

  it('built exactly web01..web03, not the master-* hosts, in renamed folders', () => {
    expect([...conffsArchives().keys()].sort()).toEqual(['web01', 'web02', 'web03']);
    expect(existsSync(path.join(cwd, 'overlayfs', 'overlayfs-web01'))).toBe(false);
  });

  it('each archive holds its host\'s templated file, hostname and sshd keys (those of the vault)', async () => {
    const ports: Record<string, string> = { web01: '8081', web02: '8082', web03: '8083' };
    for (const [host, archive] of conffsArchives()) {
      const fixture = (await readFromArchive(archive, './etc/vauban-fixture')).toString();
      expect(fixture.trimEnd()).toBe(`host=${host}\nport=${ports[host]}\ngroups=web`);
      expect((await readFromArchive(archive, './etc/hostname')).toString()).toBe(`${host}\n`);
      const keys = await readVaultEntry(path.join(cwd, 'vault'), host, PASSPHRASE);
      expect(keys?.length).toBeGreaterThanOrEqual(6);
      for (const key of keys ?? []) expect(await readFromArchive(archive, `./etc/ssh/${key.name}`), `${host} ${key.name}`).toEqual(key.data);
    }
  });

  it('each archive is small: none of the master\'s unchanged files, nothing of var/log, var/cache, root/ansible', async () => {
    for (const [host, archive] of conffsArchives()) {
      const entries = await listArchive(archive);
      expect(entries.length, host).toBeLessThan(200);
      expect(entries.filter((entry) => /^\.\/(var\/log|var\/cache|root\/ansible)(\/|$)/.test(entry)), host).toEqual([]);
      // The master's own files (its binaries, the package pb_base installed) are not carried again.
      expect(entries).not.toContain('./usr/bin/tree');
      expect(entries).not.toContain('./usr/bin/bash');
      expect(entries).toContain('./imginfo');
    }
  });

  it('wrote one log file per host', () => {
    for (const host of ['web01', 'web02', 'web03']) {
      const logs = readdirSync(CONFFS_LOG_DIR).filter((name) => name.startsWith(`${MASTER}-${host}-`));
      expect(logs.length, host).toBeGreaterThanOrEqual(1);
      expect(readFileSync(path.join(CONFFS_LOG_DIR, logs.at(-1) as string), 'utf8')).toMatch(/PLAY RECAP/);
    }
  });
});

describe('the same archives as before, and the Engine API only (issue 11)', () => {
  const legacyTag = uniqueName('vauban-itest-legacy/web03').toLowerCase();
  const ENGINE2 = 'unix:///run/vauban-test/docker2.sock';
  // Files and links only: folder entries differ by design (/tmp is a tmpfs in a stage container, so no ./tmp/;
  // ansible's own scratch folders under /root/.ansible; ./var/ above the left-out var/log).
  const withoutKeys = (members: string[]) => members.filter((member) => !member.endsWith('/') && !/^\.\/etc\/ssh\/ssh_host_/.test(member)).sort();

  it('web03\'s archive holds the files the old way (a docker build per host, the overlay of its own layers) made, byte for byte', async () => {
    // The old way, re-enacted: its Dockerfile.stages, the branch's tree and the host name in the context.
    const context = path.join(work, 'legacy-context');
    mkdirSync(path.join(context, 'vauban'), { recursive: true });
    await sh('git', ['clone', '-q', '--branch', 'master', repo.bare, path.join(context, 'ansible')]);
    await sh('cp', [path.join(fileURLToPath(new URL('./fixtures/legacy-conffs/', import.meta.url)), 'Dockerfile.stages'), context]);
    await bash('echo web03 > "$1/vauban/hostname"', { args: [context] });
    await sh('docker', ['build', '--no-cache', '--force-rm', '-q', '-f', path.join(context, 'Dockerfile.stages'), '-t', legacyTag,
      '--build-arg', `SOURCE=${MASTER}`, '--build-arg', 'PLAYBOOK=pb_base.yml', '--build-arg', 'HOSTNAME=web03', '--build-arg', 'BRANCH=master',
      ...['HOOK_PRE_ANSIBLE', 'HOOK_POST_ANSIBLE', 'ANSIBLE_ROOT_DIR', 'ANSIBLE_EXTRA_ARGS'].flatMap((name) => ['--build-arg', `${name}=`]), context], { env: { ...process.env, DOCKER_BUILDKIT: '0' } as Record<string, string> });
    const own = (await layerDirs(legacyTag)).slice(0, (await layerDirs(legacyTag)).length - (await layerDirs(MASTER)).length);
    const merged = path.join(work, 'legacy-merged');
    const empty = path.join(work, 'legacy-empty');
    mkdirSync(merged);
    mkdirSync(empty);
    const legacy = path.join(work, 'legacy-web03.tgz');
    await sh('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${[...own, empty].join(':')}`, merged]);
    try {
      await sh('tar', ['--create', '--gzip', `--file=${legacy}`, '--numeric-owner', `--directory=${merged}`, '--exclude=./var/log', '--exclude=./var/cache', '--exclude=./root/ansible', '.']);
    } finally {
      await sh('umount', [merged]);
      await sh('docker', ['image', 'rm', '-f', legacyTag]);
    }
    const ours = conffsArchives().get('web03') as string;
    const [oldMembers, newMembers] = [withoutKeys(await listArchive(legacy)), withoutKeys(await listArchive(ours))];
    expect(newMembers).toEqual(oldMembers);
    // Same contents, but for the traceability files, whose dates and new fields differ by design.
    for (const member of oldMembers.filter((name) => !name.endsWith('/') && !['./imginfo', './packages'].includes(name))) {
      expect((await readFromArchive(ours, member)).equals(await readFromArchive(legacy, member)), member).toBe(true);
    }
  });

  it('a host\'s conffs built through a second Docker engine (DOCKER_HOST, own socket and data root) is the same', async () => {
    // The master travels to the other engine as any image would.
    await bash('docker save "$1" | DOCKER_HOST="$2" docker load -q', { args: [MASTER, ENGINE2] });
    const started = new Date().toISOString();
    try {
      // --no-cache: web02's conffs of an earlier case (same image id, same inputs) would be reused, not built there.
      const run = await runVauban('vauban', ['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web02', '-l', 'yes', '-i', 'no', '-u', 'no', '--no-cache', 'pb_base.yml'], { cwd, env: { ...env, DOCKER_HOST: ENGINE2 }, log });
      expect(run.exitCode, tail(run)).toBe(0);
      const until = new Date().toISOString();
      const created = (engine: string) =>
        // docker events must answer (its failure fails the test); grep -c says 0 with its exit status 1.
        bash('set -o pipefail; DOCKER_HOST="$1" docker events --since "$2" --until "$3" --filter event=create --filter type=container --format "{{.Actor.Attributes.name}}" > "$4" && { grep -c -- "-web02-" "$4" || [ $? = 1 ]; }', { args: [engine, started, until, path.join(work, `events-${engine.replace(/\W+/g, '-')}`)] });
      expect((await created(ENGINE2)).trim()).toBe('1');
      expect((await created('unix:///var/run/docker.sock')).trim()).toBe('0');
    } finally {
      await bash('DOCKER_HOST="$2" docker image rm -f "$1" >/dev/null', { args: [MASTER, ENGINE2] });
    }
    const archives = [...readdirSync(path.join(cwd, 'overlayfs'))].filter((name) => name.endsWith('-overlayfs-web02')).sort();
    expect(archives.length).toBeGreaterThanOrEqual(2);
    const [first, remote] = [archives[0], archives.at(-1)].map((folder) => path.join(cwd, 'overlayfs', folder as string, 'conffs-web02.tgz')) as [string, string];
    expect(await listArchive(remote)).toEqual(await listArchive(first));
    expect((await readFromArchive(remote, './etc/vauban-fixture')).toString()).toBe((await readFromArchive(first, './etc/vauban-fixture')).toString());
  });
});

describe('a host\'s play in the shared controller (issue 11)', () => {
  it('runs as the host\'s own play in its own container: play hosts, run_once, delegate_to localhost, facts, environment and settings from the hook, folder, connection: local, modules forked from the agent or run the usual way', async () => {
    // On a branch of its own: a play that reads ansible_play_hosts makes the whole inventory an input of every
    // conffs of its branch (issue 12), which the other tests of the fixture's master branch must not see.
    const workTree = path.join(work, 'ansible-work');
    const playbook = fileURLToPath(new URL('./fixtures/semantics/pb_semantics.yml', import.meta.url));
    await bash('git checkout -q -b semantics master && cp "$1" . && git add pb_semantics.yml && git -c user.name=t -c user.email=t@t.invalid commit -q -m semantics && git push -q "$2" semantics && git checkout -q master', { cwd: workTree, args: [playbook, repo.bare] });
    // An Ansible setting exported by the hook, per host: Ansible reads it where it is loaded.
    const hook = 'export ANSIBLE_NULL_REPRESENTATION="set by the hook for $VAUBAN_HOSTNAME"';
    const run = await runVauban('vauban', ['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web01,web02', '-b', 'semantics', '-i', 'no', '-u', 'no', 'pb_semantics.yml'], { cwd, env: { ...env, HOOK_PRE_ANSIBLE: hook }, log });
    expect(run.exitCode, tail(run)).toBe(0);
    for (const host of ['web01', 'web02']) {
      const archive = conffsArchives().get(host) as string;
      const seen = (await readFromArchive(archive, './etc/vauban-semantics')).toString();
      expect(seen, host).toBe(`play_hosts=${host}\nrun_once=${host}\nfact_hostname=${host}\nenv_hostname=${host}\nnull_representation=set by the hook for ${host}\n`);
      expect((await readFromArchive(archive, './etc/vauban-delegated')).toString(), host).toBe(`${host}\n`);
      expect((await readFromArchive(archive, './etc/vauban-cwd')).toString(), host).toBe('yes\n');
      expect((await readFromArchive(archive, './etc/vauban-connection-local')).toString(), host).toBe('yes\n');
      // The module's parent process: the agent, forked; or Python started on the module's file.
      expect((await readFromArchive(archive, './etc/vauban-module-forked')).toString(), host).toMatch(/\/tmp\/vauban-play-env \/tmp\/vauban-play-args /);
      expect((await readFromArchive(archive, './etc/vauban-validated')).toString(), host).toBe('validated\n');
      expect((await readFromArchive(archive, './etc/vauban-module-usual')).toString(), host).toMatch(/^set by the task \/usr\/bin\/python3 \/root\/\.ansible\/tmp\/\S+\/AnsiballZ_command\.py $/);
    }
  }, 600_000);

  it('a host whose container goes away mid-play fails at once, [KO] with the reason, and leaves nothing behind', async () => {
    const started = Date.now();
    let killed = '';
    // The play's command runs in the host's container (the agent's child): seen there, then the container is removed.
    const killer = (async () => {
      while (Date.now() - started < 300_000) {
        const names = (await sh('docker', ['ps', '--format', '{{.Names}}'])).split('\n').filter((name) => /^vauban-stage-.*-web01-/.test(name));
        for (const name of names) {
          const found = await bash('docker exec "$1" pgrep -f "^sleep 600" || true', { args: [name] });
          if (found.trim() !== '') {
            await sh('docker', ['rm', '-f', name]);
            killed = name;
            return;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    const run = await vauban(['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web01', '-i', 'no', '-u', 'no', 'pb_slow.yml']);
    await killer;
    expect(killed).not.toBe('');
    expect(run.exitCode, tail(run)).toBe(3);
    expect(run.output).toMatch(/\[KO\] web01/);
    // Not the play's 600 s: ended when its container went away.
    expect(Date.now() - started).toBeLessThan(240_000);
  }, 400_000);

  it('a line on a host\'s play channel that is not vauban\'s (a hook writing to the agent\'s descriptor) fails that host, naming the line; the other host is built (issue 30)', async () => {
    const hook = '[ "$VAUBAN_HOSTNAME" != web02 ] || echo "garbage from a hook" >&3';
    const run = await runVauban('vauban', ['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web01,web02', '-i', 'no', '-u', 'no', 'pb_base.yml'], { cwd, env: { ...env, HOOK_PRE_ANSIBLE: hook }, log });
    expect(run.exitCode, tail(run)).toBe(3);
    expect(run.output).toMatch(/\[OK\] web01/);
    expect(run.output).toMatch(/\[KO\] web02/);
    const logFile = /\[KO\] web02\s+\(log: (\S+)\)/.exec(run.output)?.[1] as string;
    expect(`${run.output}\n${readFileSync(logFile, 'utf8')}`).toMatch(/a line on the play channel of web02's agent that is not vauban's \(something printed on it\): "garbage from a hook"/);
    expect(await sh('docker', ['ps', '-aq', '--filter', 'name=vauban-stage-'])).toBe('');
  }, 400_000);
});

describe('failures and deletions', () => {
  it('a host whose play fails: [KO] for it, [OK] for the others, non-zero exit, its log names the failed task', async () => {
    const run = await vauban(['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web01,db01', '-i', 'no', '-u', 'no', '--json', 'pb_fail_db.yml']);
    // Some hosts failed, the rest built (issue 31): 3.
    expect(run.exitCode).toBe(3);
    expect(run.output).toMatch(/\[OK\] web01/);
    expect(run.output).toMatch(/\[KO\] db01/);
    // Under the [KO] line, as in a CI job log: the failed task, the module's message, the end of the log (issue 31).
    expect(run.output).toMatch(/\[KO\] db01 \(log: \S+\)\n\S+      failed task: Refuse db hosts\n\S+      message: fixture failure for db01\n\S+      last lines of its log:\n(\S+        \| .*\n)+/);
    expect(run.output).toMatch(/\[KO\] db01  \(log: \S+\)\n\S+        failed task: Refuse db hosts: fixture failure for db01/);
    const document = JSON.parse(run.stdout) as { result: { exit_code: number; hosts: Array<{ host: string; failed_task: string | null; message: string | null }> } };
    expect(document.result.exit_code).toBe(3);
    expect(document.result.hosts.find((one) => one.host === 'db01')).toMatchObject({ failed_task: 'Refuse db hosts', message: 'fixture failure for db01' });
    const logFile = /\[KO\] db01\s+\(log: (\S+)\)/.exec(run.output)?.[1];
    expect(logFile).toBeDefined();
    expect(readFileSync(logFile as string, 'utf8')).toMatch(/TASK \[Refuse db hosts\][\s\S]*fixture failure for db01/);
  });

  it('the deletion playbook: the deleted path is reported', async () => {
    const run = await vauban(['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'web02', '-i', 'no', '-u', 'no', 'pb_delete.yml']);
    expect(run.exitCode, tail(run)).toBe(0);
    expect(run.output).toMatch(/web02: a stage deleted \/etc\/issue\.net/);
    // A deleted folder is one deletion, not one per file it held.
    expect(run.output).toMatch(/web02: a stage deleted \/etc\/skel;/);
    expect(run.output).not.toMatch(/deleted \/etc\/skel\//);
    const archive = conffsArchives().get('web02');
    expect(archive).toBeDefined();
    expect((await readFromArchive(archive as string, './.vauban-conffs/deleted')).toString()).toBe('etc/issue.net\netc/skel\nusr/share/common-licenses/GPL-2\n');
    // A change deep in folders of the image alone is found too (the listing enters only the folders overlayfs copied up).
    expect((await readFromArchive(archive as string, './usr/share/base-files/motd')).toString()).toMatch(/changed by pb_delete\n$/);
  });

  it('an empty host selection is a clear error', async () => {
    const run = await vauban(['-r', 'no', '-s', MASTER, '-n', MASTER, '-a', 'nothing-matches*', '-i', 'no', '-u', 'no', 'pb_base.yml']);
    expect(run.exitCode).toBe(1);
    expect(run.output).toMatch(/no host of the inventory \(branch master\) matches 'nothing-matches\*'/);
  });
});

describe('rootfs then conffs in one run (A2)', () => {
  it('builds the master and the conffs of its hosts on the same source', async () => {
    const name = uniqueName('master-itest-both').toLowerCase();
    const run = await vauban(['-f', baseImage, '-n', name, '-a', 'db01', '-i', 'no', '-u', 'no', '--compression', 'zstd', 'pb_base.yml']);
    expect(run.exitCode, tail(run)).toBe(0);
    expect(existsSync(path.join(cwd, 'rootfs.tgz'))).toBe(true);
    const archive = conffsArchives().get('db01');
    expect(archive).toBeDefined();
    expect((await readFromArchive(archive as string, './etc/vauban-fixture')).toString()).toContain('host=db01');
  });

  it('left no mount, loop device or container', async () => {
    const now = await readHostState();
    expect(now).toEqual(before);
  });
});
