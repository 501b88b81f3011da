// Issue 5: from the fixture base, kernel + initramfs (our dracut module), a
// master and one host's conffs, then `vauban boot`: QEMU network-boots it
// through iPXE over HTTP on loopback, and the guest proves it came up as the
// host (its host name, a file of its conffs, its sshd key from the vault).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBaseImage, makeAnsibleRepo } from './helpers/fixtures.js';
import { watchConffsLogs, type LogWatch } from './helpers/logs.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { sh, uniqueName } from './helpers/sh.js';
import { runVauban, tail } from './helpers/vauban.js';

const MASTER = uniqueName('master-itest-boot').toLowerCase();
let work: string;
let cwd: string;
let log: string;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let logs: LogWatch;

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  logs = watchConffsLogs();
  work = mkdtempSync('/var/tmp/vauban-itest-boot-');
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  mkdirSync(path.join(work, 'home'));
  log = path.join(work, 'vauban.log');
  const repo = await makeAnsibleRepo(work);
  env = { HOME: path.join(work, 'home'), ANSIBLE_REPO: repo.url, VAULTED_SSHD_KEYS_KEY: 'vault-passphrase-boot-test' };
});

afterAll(async () => {
  await removeNewImages(imagesBefore);
  logs.remove();
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

describe('kernel, initramfs, master and conffs, PXE-booted under QEMU', () => {
  it('builds kernel + initramfs, the master and the conffs of web01 from the fixture', async () => {
    const base = await fixtureBaseImage();
    const run = await runVauban('vauban', ['-f', base, '-n', MASTER, '-a', 'web01', '-u', 'no', '--compression', 'zstd', 'pb_base.yml'], { cwd, env, log });
    expect(run.exitCode, tail(run)).toBe(0);
    for (const file of ['vmlinuz', 'initramfs.img', 'rootfs.tgz']) expect(existsSync(path.join(cwd, file)), file).toBe(true);
    // The kernel the initramfs was built for is the one of the rootfs.
    const kernel = /kernel (\S+): /.exec(run.output)?.[1];
    expect(kernel).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(await sh('bash', ['-c', `tar -xOf ${path.join(cwd, 'rootfs.tgz')} rootfs.img > ${work}/rootfs.img && unsquashfs -l ${work}/rootfs.img usr/lib/modules | grep -c "modules/${kernel}/kernel$"`])).toBe('1');
    // The initramfs carries our module and the baked overlayfs mode.
    const listing = await sh('bash', ['-c', `zstd -dc ${path.join(cwd, 'initramfs.img')} | cpio -t 2>/dev/null`]);
    expect(listing).toContain('usr/sbin/dmsquash-live-root.dracut');
    expect(listing).toContain('etc/cmdline.d/89-vauban-live.conf');
    expect(listing).toContain('usr/sbin/dhclient');
  });

  it('vauban boot: the host comes up as itself, then powers off', async () => {
    const run = await runVauban('vauban', ['boot', '-n', MASTER, '-a', 'web01', '--timeout', '900'], { cwd, env, log });
    expect(run.exitCode, tail(run, 60)).toBe(0);
    expect(run.output).toMatch(/\[OK\] hostname: expected web01, got web01/);
    expect(run.output).toMatch(/\[OK\] conffs file \/etc\/vauban-fixture/);
    expect(run.output).toMatch(/\[OK\] sshd ed25519 key fingerprint: expected SHA256:\S+, got SHA256:/);
    expect(run.output).toMatch(/\[OK\] root file system: expected overlay/);
    // Served the A9 layout: the master's symlinks to the versioned kernel files.
    expect(run.output).toMatch(/GET \/master-itest-boot\S*\/vmlinuz 200, GET \/\S+\/initramfs\.img 200/);
    const boot = /boot to checks passed: ([\d.]+) s/.exec(run.output)?.[1];
    console.log(`boot from QEMU start to checks passed: ${boot} s`);
    const serial = readFileSync(path.join(cwd, `vauban-boot-${MASTER}-web01.log`), 'latin1');
    expect(serial).toMatch(/Reached target .*Multi-User System/);
    expect(serial).toMatch(/reboot: Power down/);
  });

  it('left the artifacts without the test check: the conffs is the one built', async () => {
    const folder = readdirSync(path.join(cwd, 'overlayfs')).find((name) => name.endsWith('-overlayfs-web01'));
    const entries = await sh('tar', ['-tzf', path.join(cwd, 'overlayfs', folder as string, 'conffs-web01.tgz')]);
    expect(entries).not.toContain('vauban-boot-check');
  });
});
