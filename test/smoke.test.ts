// Proves the test bed is real: dockerd answers, the fixture raw image is a
// partitioned disk whose partition 1 is an ext4 Debian root, `docker import`
// of it runs a command, and ansible-playbook -c local of a fixture playbook
// runs inside that container.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBaseImage, makeAnsibleRepo, readPartitions, type AnsibleRepo } from './helpers/fixtures.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { bash, sh, uniqueName } from './helpers/sh.js';

const image = uniqueName('vauban-smoke').toLowerCase();
let work: string;
let baseImage: string;
let repo: AnsibleRepo;
let before: HostState;
const releases: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  before = await readHostState();
  work = mkdtempSync('/var/tmp/vauban-smoke-');
  baseImage = await fixtureBaseImage();
  repo = await makeAnsibleRepo(work);
});

afterAll(async () => {
  for (const release of releases.reverse()) await release().catch(() => undefined);
  await sh('docker', ['image', 'rm', '-f', image]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
  // The smoke test itself leaves nothing behind.
  expect(await readHostState()).toEqual(before);
});

describe('test bed smoke', () => {
  it('dockerd answers through the Engine API', async () => {
    const version = await new Docker().version();
    expect(version.ApiVersion).toMatch(/^1\.\d+$/);
    expect(version.Version).toMatch(/^\d+\.\d+/);
  });

  it('the fixture raw image has a partition table whose partition 1 mounts as ext4 with /etc/debian_version', async () => {
    const partitions = await readPartitions(baseImage);
    expect(partitions.map((partition) => partition.number).sort((a, b) => a - b)).toEqual([1, 15]);
    const root = partitions.find((partition) => partition.number === 1);
    expect(root).toBeDefined();
    // A loop device at the partition's offset: no partition nodes needed.
    const loop = (await sh('losetup', ['--find', '--show', '--read-only', '--offset', String(root?.offset), '--sizelimit', String(root?.size), baseImage])).trim();
    releases.push(() => sh('losetup', ['--detach', loop]));
    expect((await sh('blkid', ['-o', 'value', '-s', 'TYPE', loop])).trim()).toBe('ext4');
    const mountpoint = path.join(work, 'root');
    mkdirSync(mountpoint);
    await sh('mount', ['-o', 'ro', '-t', 'ext4', loop, mountpoint]);
    releases.push(() => sh('umount', [mountpoint]));
    expect(readFileSync(path.join(mountpoint, 'etc/debian_version'), 'utf8')).toMatch(/^12\.\d+/);
    expect(readFileSync(path.join(mountpoint, 'etc/os-release'), 'utf8')).toContain('bookworm');

    // docker import of the mounted root, then a command in it.
    await bash('tar -C "$1" --numeric-owner -cf - . | docker import - "$2" >/dev/null', { args: [mountpoint, image] });
    const version = await sh('docker', ['run', '--rm', image, 'cat', '/etc/debian_version']);
    expect(version.trim()).toBe(readFileSync(path.join(mountpoint, 'etc/debian_version'), 'utf8').trim());
    await sh('umount', [mountpoint]);
    await sh('losetup', ['--detach', loop]);
    releases.length = 0;
  });

  it('ansible-playbook -c local of a fixture playbook runs inside that container', async () => {
    const checkout = path.join(work, 'checkout');
    await sh('git', ['clone', '-q', repo.url, checkout]);
    const output = await sh('docker', [
      'run', '--rm', '-v', `${checkout}:/ansible:ro`, image, 'bash', '-euc',
      [
        'export DEBIAN_FRONTEND=noninteractive',
        'apt-get update -q >/dev/null',
        'apt-get install -y -q --no-install-recommends ansible-core >/dev/null',
        'cd /ansible',
        'ansible-playbook pb_base.yml -c local -l web02 --diff -v',
        'echo ---effects---',
        'cat /etc/vauban-fixture',
        'id ops',
        'command -v tree',
      ].join('\n'),
    ]);
    const effects = output.slice(output.indexOf('---effects---'));
    expect(output).toMatch(/PLAY RECAP[\s\S]*web02\s*: ok=3\s+changed=3\s+unreachable=0\s+failed=0/);
    expect(effects).toContain('host=web02');
    expect(effects).toContain('port=8082');
    expect(effects).toContain('groups=web');
    expect(effects).toMatch(/uid=\d+\(ops\)/);
    expect(effects).toContain('/usr/bin/tree');
  });
});
