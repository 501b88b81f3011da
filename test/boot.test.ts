// Issues 5, 10 and 14: from the fixture base, kernel + initramfs (our dracut
// module), a master built with real-world shaped content (roles that install
// and manage daemons, handlers, service facts, community and vendored
// collections) and the conffs of two hosts. A boot of the built artifacts, of
// a served rootfs with one byte changed, must stop in the initramfs with the
// integrity message. Then releases on a PXE server (below): `vauban boot
// --pxe-dir` QEMU-network-boots one host through iPXE over HTTP on loopback,
// from the boot entry generated for its MAC address (which chains to its entry
// by name), and the guest proves it came up as the host (its host name, a file
// of its conffs, its sshd key from the vault, both downloads verified against
// the entry's sha256, the file its stages deleted absent, its writable layer
// on rootovl's tmpfs) with its daemons active and serving its own config, and
// with the content of the release that is live.
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBaseImage, makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { CONFFS_LOG_DIR, watchConffsLogs, type LogWatch } from './helpers/logs.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { runVauban, tail } from './helpers/vauban.js';
import { createPxeUser, killWhenRootfsIsSent, type PxeUser } from './helpers/pxe-user.js';
import { pxeServerSettings, startSshd, type TestSshd } from './helpers/sshd.js';
import { releaseName } from '../src/pxe/layout.js';
import { publishRelease, type ReleaseFile } from '../src/pxe/publish-release.js';
import { putFile } from '../src/pxe/put-file.js';
import { openSshServer, type PxeServer } from '../src/pxe/pxe-server.js';
import { pxeTargets } from '../src/pxe/ssh-options.js';
import { CleanupStack } from '../src/system/cleanup.js';
import { sha256File } from '../src/system/sha256-file.js';
import type { SshTarget } from '../src/system/ssh.js';
import { projectSigner, readProjectKey, type ProjectSigner } from '../src/vault/project-key.js';

const MASTER = uniqueName('master-itest-boot').toLowerCase();
// Not QEMU's default MAC: the NIC must get the one of the inventory.
const WEB01_MAC = '52:54:00:00:14:01';
const BROKEN = uniqueName('master-itest-broken').toLowerCase();
let repo: AnsibleRepo;
let work: string;
let cwd: string;
let log: string;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let logs: LogWatch;
// The output of the build of the master and its hosts (the first test).
let buildOutput = '';
// The PXE server of the release boots: a private sshd, a user with sudo, UPLOAD_DIR under work.
const PXE_USER = 'vauban-pxe-boot';
let sshd: TestSshd | undefined;
let pxeUser: PxeUser | undefined;
const pxeCleanup = new CleanupStack();

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  logs = watchConffsLogs();
  work = mkdtempSync('/var/tmp/vauban-itest-boot-');
  cwd = path.join(work, 'project');
  mkdirSync(cwd);
  mkdirSync(path.join(work, 'home'));
  log = path.join(work, 'vauban.log');
  repo = await makeAnsibleRepo(work, { fullAnsible: true });
  // web01 boots by its MAC address and drops a file of the master (B15): host variables of this test only.
  await bash(
    `clone=$(mktemp -d) && git clone -q "$1" "$clone" && cd "$clone" && mkdir -p host_vars && printf 'vauban_mac: "%s"\\ndrop_issue_net: true\\n' "$2" > host_vars/web01.yml && git add -A && git -c user.name=t -c user.email=t@t.invalid commit -qm 'web01: MAC address, drops /etc/issue.net' && git push -q origin master && rm -rf "$clone"`,
    { args: [repo.bare, WEB01_MAC] },
  );
  env = { HOME: path.join(work, 'home'), ...repo.settings, VAULTED_SSHD_KEYS_KEY: 'vault-passphrase-boot-test' };
});

afterAll(async () => {
  await pxeCleanup.unwind(() => undefined);
  await sshd?.stop();
  await pxeUser?.remove();
  await removeNewImages(imagesBefore);
  logs.remove();
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

/** Runs a shell snippet in a throw-away container of `image`; its output. */
function inImage(image: string, script: string): Promise<string> {
  return sh('docker', ['run', '--rm', '--entrypoint', '/bin/sh', image, '-c', script]);
}

async function conffsOf(host: string): Promise<string> {
  const folder = readdirSync(path.join(cwd, 'overlayfs')).filter((name) => name.endsWith(`-overlayfs-${host}`)).sort().at(-1);
  expect(folder, host).toBeDefined();
  return path.join(cwd, 'overlayfs', folder as string, `conffs-${host}.tgz`);
}

describe('kernel, initramfs, a master of real-world content and two hosts\' conffs, PXE-booted under QEMU', () => {
  it('builds kernel + initramfs, the master (pb_base + pb_services) and the conffs of web01 and web02 from the fixture', async () => {
    const base = await fixtureBaseImage();
    // The project signs (B19): its key made once, as an operator does before the first build.
    const keygen = await runVauban('vauban', ['keygen'], { cwd, env, log });
    expect(keygen.exitCode, tail(keygen)).toBe(0);
    expect(keygen.stdout).toMatch(/^made the project's signing key vault\/vauban-signing-key\.asc \(fingerprint [0-9a-f]{40}\)/);
    const run = await runVauban('vauban', ['-f', base, '-n', MASTER, '-a', 'web01,web02', '-u', 'no', '--compression', 'zstd', 'pb_base.yml', 'pb_services.yml'], { cwd, env, log });
    expect(run.exitCode, tail(run)).toBe(0);
    buildOutput = run.output;
    for (const file of ['vmlinuz', 'initramfs.img', 'rootfs.tgz']) expect(existsSync(path.join(cwd, file)), file).toBe(true);
    // The kernel the initramfs was built for is the one of the rootfs.
    const kernel = /kernel (\S+): /.exec(run.output)?.[1];
    expect(kernel).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(await sh('bash', ['-c', `tar -xOf ${path.join(cwd, 'rootfs.tgz')} rootfs.img > ${work}/rootfs.img && unsquashfs -l ${work}/rootfs.img usr/lib/modules | grep -c "modules/${kernel}/kernel$"`])).toBe('1');
    // The initramfs carries our module and the baked overlayfs mode.
    const initramfs = path.join(cwd, 'initramfs.img');
    const listing = await sh('bash', ['-c', `zstd -dc ${initramfs} | cpio -t 2>/dev/null`]);
    const files = listing.split('\n');
    const holds = (suffix: string): boolean => files.some((line) => line.endsWith(suffix));
    expect(listing).toContain('usr/sbin/dmsquash-live-root.dracut');
    expect(listing).toContain('etc/cmdline.d/89-vauban-live.conf');
    expect(listing).toContain('usr/sbin/dhclient');
    // The NICs, loop, squashfs and overlay; no disk filesystem or controller (the root is in RAM); dash as /bin/sh.
    for (const module of ['drivers/net/virtio_net.ko', 'drivers/net/ethernet/intel/e1000/e1000.ko', 'drivers/block/loop.ko', 'fs/squashfs/squashfs.ko', 'fs/overlayfs/overlay.ko']) {
      expect(holds(`/kernel/${module}`), module).toBe(true);
    }
    for (const module of ['fs/xfs/xfs.ko', 'fs/ext4/ext4.ko', 'drivers/scsi/sd_mod.ko', 'drivers/nvme/host/nvme.ko']) {
      expect(holds(`/kernel/${module}`), module).toBe(false);
    }
    expect(await sh('bash', ['-c', `zstd -dc ${initramfs} | cpio -tv 2>/dev/null | grep -E ' (usr/)?bin/sh -> '`])).toMatch(/bin\/sh -> dash$/);
    // Our hooks (B15): integrity, deletions, rootovl; livenet's fetch of the conffs replaced by ours; dracut's overlay-root left out.
    for (const file of ['lib/vauban-lib.sh', 'dracut/hooks/pre-pivot/15-vauban-deletions.sh', 'dracut/hooks/pre-mount/10-vauban-writable-layer.sh']) {
      expect(holds(file), file).toBe(true);
    }
    const online = files.find((line) => line.endsWith('hooks/initqueue/online/95-fetch-liveupdate.sh'));
    expect(await sh('bash', ['-c', `zstd -dc ${initramfs} | cpio -i --to-stdout ${online} 2>/dev/null`])).toContain('vauban_verify /tmp/updates.img vauban.conffs.sha256');
    // dmsquash-live's apply-live-updates (a process per path of the conffs) replaced by ours (one tar, in the root).
    const apply = files.find((line) => line.endsWith('hooks/pre-pivot/20-apply-live-updates.sh'));
    expect(await sh('bash', ['-c', `zstd -dc ${initramfs} | cpio -i --to-stdout ${apply} 2>/dev/null`])).toContain('chroot "$NEWROOT" tar -x');
    expect(listing).not.toContain('overlay-mount.sh');
    // The project's key baked in, and gpgv to check releases with (B19).
    expect(run.output).toMatch(/releases must carry the signature of the project key [0-9a-f]{16}/);
    expect(holds('etc/vauban/release-key.gpg')).toBe(true);
    expect(holds('bin/gpgv')).toBe(true);
    const baked = await sh('bash', ['-c', `zstd -dc ${initramfs} | cpio -i --to-stdout etc/vauban/release-key.gpg 2>/dev/null | base64 -w0`]);
    expect(Buffer.from(baked, 'base64').equals(Buffer.from((await readProjectKey(path.join(cwd, 'vault')))?.publicKeyring ?? []))).toBe(true);
  });

  it('the master: the full Ansible distribution, services really managed, their effects in the image, nothing of vauban left', async () => {
    const imginfo = yaml.load(await inImage(MASTER, 'cat /imginfo')) as { stages: Array<Record<string, unknown>> };
    const services = imginfo.stages.find((stage) => stage.playbook === 'pb_services.yml');
    expect(services).toMatchObject({ hostname: MASTER, init: 'systemd', 'units-failed': [] });
    expect(String(services?.ansible)).toMatch(/^7\.\d+\.\d+/);
    expect(String(services?.['ansible-core'])).toMatch(/^2\.1\d\.\d+/);
    // Handlers really ran, in order: the config test, the restart, the reload.
    expect(readFileSync(log, 'utf8')).toMatch(/RUNNING HANDLER \[webserver : Test nginx configuration\][\s\S]*RUNNING HANDLER \[webserver : Restart nginx\][\s\S]*RUNNING HANDLER \[webserver : Reload nginx\]/);
    expect(readFileSync(log, 'utf8')).toMatch(/requirements\.yml: every requirement is vendored or installed/);
    // enabled and masked take effect at boot: the links are in the image.
    const links = await inImage(MASTER, 'cd /etc/systemd/system && readlink multi-user.target.wants/nginx.service multi-user.target.wants/vauban-hello.service e2scrub_reap.service');
    expect(links.split('\n')).toEqual(['/lib/systemd/system/nginx.service', '/etc/systemd/system/vauban-hello.service', '/dev/null']);
    expect(await inImage(MASTER, 'cat /etc/vauban-banner; grep -c "^name = " /etc/vauban-fixture.ini; grep -c fixture@vauban /root/.ssh/authorized_keys')).toBe(`${MASTER} built by vauban (in_vauban=True)\n1\n1`);
    // Nothing vauban added for the services stays: no policy-rc.d, no diversion, no build journal, no Galaxy cache.
    expect(await inImage(MASTER, 'ls /usr/sbin/policy-rc.d /root/.ansible/galaxy_cache 2>&1; dpkg-divert --list | grep -c systemctl; ls /var/log/journal | wc -l')).toMatch(/No such file[\s\S]*No such file[\s\S]*\n0\n0$/);
    // Stage containers are gone.
    expect(await sh('docker', ['ps', '-aq', '--filter', 'name=vauban-stage-'])).toBe('');
    // The stage containers' names and labels are not the image's.
    expect(await sh('docker', ['image', 'inspect', '--format', '{{json .Config.Labels}}', MASTER])).not.toMatch(/vauban\.run|stage-host/);
  });

  it('a unit that sandboxes itself (PrivateUsers=yes and more) starts and restarts from its handler in the master\'s stage and in each host\'s conffs; the relaxation is said once, and is in no image or conffs (issue 25)', async () => {
    const relaxed = /services run with PrivateUsers=no, no bind mounts \(BindPaths=, BindReadOnlyPaths=\) during this run's builds/g;
    expect(buildOutput.match(relaxed)?.length, 'said once per run').toBe(1);
    // In the master's stage: started, the handler's restart ran, active after it (the play's last check).
    const stageLog = buildOutput.slice(buildOutput.indexOf('pb_services.yml from branch'));
    expect(stageLog).toMatch(/RUNNING HANDLER \[sandboxed_daemon : Restart sandboxed\][\s\S]*TASK \[sandboxed_daemon : The sandboxed daemon is active after its restart\][^\n]*\n[^\n]*ok: \[/);
    expect(stageLog).toMatch(/systemd running \(for the build only: PrivateUsers=no BindReadOnlyPaths=\)/);
    // In each host's conffs: its own unit (its name templated in) restarted by the handler, then active.
    for (const host of ['web01', 'web02']) {
      const hostLogs = logs.created().filter((name) => name.includes(`-${host}-`));
      expect(hostLogs.length, host).toBeGreaterThanOrEqual(1);
      const text = readFileSync(path.join(CONFFS_LOG_DIR, hostLogs.at(-1) as string), 'utf8');
      const handler = text.indexOf('RUNNING HANDLER [sandboxed_daemon : Restart sandboxed]');
      expect(handler, `${host}: the handler ran`).toBeGreaterThan(-1);
      expect(text.slice(handler, handler + 300), host).toMatch(/^RUNNING HANDLER \[sandboxed_daemon : Restart sandboxed\][^\n]*\n(\s*\n)?changed: \[/);
      expect(text, host).toMatch(/"stdout": "active"/);
      expect(await sh('tar', ['-xzOf', await conffsOf(host), './etc/systemd/system/vauban-sandboxed.service'])).toContain(`a sandboxed daemon of ${host}`);
      expect((await sh('tar', ['-tzf', await conffsOf(host)])).split('\n').filter((member) => /zz-vauban|service\.d\//.test(member)), host).toEqual([]);
    }
    // The image keeps the unit as written; the build's drop-in is nowhere in it, nor in the rootfs.
    expect(await inImage(MASTER, 'grep -c "^PrivateUsers=yes$" /etc/systemd/system/vauban-sandboxed.service; find / -xdev \\( -name "zz-vauban*" -o -path /run/systemd \\) -print')).toBe('1');
    const listing = (await sh('unsquashfs', ['-l', `${work}/rootfs.img`])).split('\n');
    expect(listing.length).toBeGreaterThan(1000);
    expect(listing.filter((line) => line.includes('zz-vauban') || line.includes('/run/systemd'))).toEqual([]);
  });

  it('with BUILD_RELAX_SANDBOX=no the same unit fails in a stage as it did before the relaxation (217/USER: no user namespace in a container)', async () => {
    const run = await runVauban('vauban', ['-s', MASTER, '-n', BROKEN, '-i', 'no', '-l', 'no', '-u', 'no', 'pb_sandboxed.yml'], { cwd, env: { ...env, BUILD_RELAX_SANDBOX: 'no' }, log });
    expect(run.exitCode, 'a build failure').toBe(2);
    expect(run.output).toMatch(/fatal: \[master-itest-broken[^\]]*\]: FAILED! => [^\n]*Unable to start service vauban-sandboxed\.service/);
    expect(run.output).not.toMatch(/for the build only/);
    expect(await sh('docker', ['image', 'ls', '-q', BROKEN])).toBe('');
  });

  it('web01\'s conffs lists the file its stages deleted, and its entry by MAC address is written beside it (B15)', async () => {
    expect(await inImage(MASTER, 'test -e /etc/issue.net && echo kept')).toBe('kept');
    const archive = await conffsOf('web01');
    expect(await sh('tar', ['-xzOf', archive, './.vauban-conffs/deleted'])).toBe('etc/issue.net');
    expect((await sh('tar', ['-tzf', await conffsOf('web02')])).split('\n')).not.toContain('./.vauban-conffs/deleted');
    expect(readFileSync(path.join(path.dirname(archive), 'by-mac', '52-54-00-00-14-01.ipxe'), 'utf8')).toMatch(/^chain \.\.\/web01\.ipxe$/m);
    expect(existsSync(path.join(path.dirname(await conffsOf('web02')), 'by-mac'))).toBe(false);
    expect(readFileSync(log, 'utf8')).toMatch(/web01: a stage deleted \/etc\/issue\.net; the conffs lists it, the host removes it at boot/);
  });

  it('our conffs hook outside QEMU (the boots with a changed file are below): a changed conffs, forged sums or a missing signature are refused before anything of it is unpacked; the built one is unpacked', async () => {
    const dir = path.join(work, 'hook');
    mkdirSync(dir, { recursive: true });
    const good = await conffsOf('web01');
    const sha = (await sh('sha256sum', [good])).split(' ')[0] as string;
    await sh('cp', [good, path.join(dir, 'good.tgz')]);
    await sh('cp', [good, path.join(dir, 'changed.tgz')]);
    await sh('bash', ['-c', `printf '\\x00' | dd of=${path.join(dir, 'changed.tgz')} bs=1 seek=100 conv=notrunc status=none`]);
    const changedSha = (await sh('sha256sum', [path.join(dir, 'changed.tgz')])).split(' ')[0] as string;
    // The project's key as the initramfs holds it, and releases' sums: signed by vauban, or forged by a writer of the server.
    const signer = (await projectSigner(path.join(cwd, 'vault'), env.VAULTED_SSHD_KEYS_KEY as string)) as ProjectSigner;
    writeFileSync(path.join(dir, 'release-key.gpg'), signer.publicKeyring);
    const sums = (conffs: string) => `${'0'.repeat(64)}  rootfs.tgz\n${conffs}  conffs-web01.tgz\n`;
    const release = async (name: string, text: string, signature: Uint8Array | undefined) => {
      mkdirSync(path.join(dir, name), { recursive: true });
      writeFileSync(path.join(dir, name, 'SHA256SUMS'), text);
      if (signature !== undefined) writeFileSync(path.join(dir, name, 'SHA256SUMS.sig'), signature);
    };
    await release('signed', sums(sha), await signer.sign(sums(sha)));
    // A writer of the server: the sums rewritten for the changed conffs, the signature kept (or one of its bytes changed).
    const signature = await signer.sign(sums(sha));
    await release('forged', sums(changedSha), signature);
    const flipped = Buffer.from(signature);
    flipped[flipped.length - 10] = (flipped[flipped.length - 10] ?? 0) ^ 0xff;
    await release('bad-signature', sums(sha), flipped);
    await release('unsigned', sums(sha), undefined);
    // dracut's functions stubbed: the command line pins the conffs (`pin`) and names the release; fetch_url "downloads" from the folders above.
    const hook = (file: string, options: { pin?: string; release?: string; key?: boolean } = {}) => sh('docker', [
      'run', '--rm', '--network', 'none', '-v', `${path.resolve('modules.d/89vauban-live')}:/vauban:ro`, '-v', `${dir}:/in:ro`,
      ...(options.key === false ? [] : ['-v', `${path.join(dir, 'release-key.gpg')}:/etc/vauban/release-key.gpg:ro`]),
      '--entrypoint', '/bin/sh', MASTER, '-c',
      `getarg() { case "$1" in vauban.conffs.sha256=) echo ${options.pin ?? sha};; root=) echo live:http://srv/m/releases/${options.release ?? 'signed'}/rootfs.tgz;; esac; }
       info() { :; }; warn() { echo "warn: $*"; }; die() { echo "die: $*"; echo "integrity: $(cat /run/vauban/integrity)"; exit 0; }
       fetch_url() { case "$1" in */conffs-web01.tgz) cp /in/${file} "$2";; *) cp "/in/\${1#http://srv/m/releases/}" "$2" 2>/dev/null;; esac; }
       . /vauban/vauban-lib.sh
       echo http://srv/m/releases/${options.release ?? 'signed'}/conffs-web01.tgz > /tmp/liveupdates.info
       . /vauban/fetch-liveupdate.sh 2>/dev/null
       echo "unpacked: $(ls /updates/etc/vauban-banner 2>&1)"; echo "integrity: $(cat /run/vauban/integrity)"; ls /tmp/liveupdates.done`,
    ]);
    // Without the key (an initramfs of a project that does not sign): the boot line's pin alone.
    const refused = await hook('changed.tgz', { key: false });
    expect(refused).toMatch(new RegExp(`die: vauban-live: INTEGRITY CHECK FAILED: the conffs http://srv/m/releases/signed/conffs-web01\\.tgz has sha256 ${changedSha}, the boot line expects ${sha}: refusing to boot it`));
    expect(refused).not.toContain('unpacked:');
    // With the key: the signed sums decide; a changed file is refused against them...
    const changed = await hook('changed.tgz');
    expect(changed).toMatch(new RegExp(`die: vauban-live: INTEGRITY CHECK FAILED: the conffs \\S+ has sha256 ${changedSha}, the boot line expects ${sha}`));
    expect(changed).toContain('integrity: vauban.manifest=ok');
    // ...and the same file with sums forged to match it (the boot line's pin too) is refused on the signature.
    for (const [name, options] of [['forged', { release: 'forged', pin: changedSha }], ['bad-signature', { release: 'bad-signature' }]] as const) {
      const output = await hook('changed.tgz', options);
      expect(output, name).toMatch(new RegExp(`die: vauban-live: INTEGRITY CHECK FAILED: http://srv/m/releases/${name}/SHA256SUMS does not carry the project's signature: refusing to boot it`));
      expect(output, name).not.toContain('unpacked:');
      expect(output, name).toContain('integrity: vauban.manifest=FAILED');
    }
    // A release without a signature: refused, whatever its sums say.
    expect(await hook('good.tgz', { release: 'unsigned' })).toMatch(/die: vauban-live: INTEGRITY CHECK FAILED: cannot download http:\/\/srv\/m\/releases\/unsigned\/SHA256SUMS and SHA256SUMS\.sig, which the project's key must sign/);
    // A boot line pinning another sum than the signed one: refused.
    expect(await hook('good.tgz', { pin: changedSha })).toMatch(new RegExp(`INTEGRITY CHECK FAILED: the boot line pins the conffs \\S+ to sha256 ${changedSha}, the release's signed SHA256SUMS says ${sha}`));
    const accepted = await hook('good.tgz');
    expect(accepted).toContain('unpacked: /updates/etc/vauban-banner');
    expect(accepted).toContain('integrity: vauban.manifest=ok\nvauban.conffs.sha256=ok');
    expect(accepted).toContain('/tmp/liveupdates.done');
  });

  it('each host\'s conffs carries its own site, page and banner', async () => {
    for (const host of ['web01', 'web02']) {
      const archive = await conffsOf(host);
      const read = (member: string) => sh('tar', ['-xzOf', archive, member]);
      expect(await read('./etc/nginx/conf.d/vauban-site.conf')).toContain(`server_name ${host};`);
      expect(await read('./var/www/vauban/index.html')).toBe(`served by ${host} (web)`);
      expect(await read('./etc/vauban-banner')).toBe(`${host} built by vauban (in_vauban=True)`);
      const members = (await sh('tar', ['-tzf', archive])).split('\n');
      expect(members).toContain('./etc/systemd/system/multi-user.target.wants/nginx.service');
      // The container's own mount points and boot leftovers are no host's files.
      expect(members.filter((member) => /^\.\/(sys|proc|dev|run|tmp)\/|^\.\/etc\/mtab$|galaxy_cache/.test(member))).toEqual([]);
    }
  });

  it('a role that fails for a real reason (validate refuses a broken nginx.conf) still fails the build, naming the task; --keep-failed leaves its container to look into', async () => {
    const run = await runVauban('vauban', ['-s', MASTER, '-n', BROKEN, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd', '--keep-failed', 'pb_broken_nginx.yml'], { cwd, env, log });
    expect(run.exitCode, 'a build failure').toBe(2);
    // The failed stage's container, named in the error, running: the operator looks inside (issue 31).
    const kept = /its container is kept: docker exec -it (vauban-failed-\S+) bash \(then docker rm -f \1\)/.exec(run.output)?.[1];
    expect(kept, tail(run)).toBeDefined();
    try {
      expect(await sh('docker', ['exec', kept as string, 'sh', '-c', 'hostname; test -f /root/ansible/pb_broken_nginx.yml && echo tree there'])).toBe(`${BROKEN}\ntree there`);
    } finally {
      await sh('docker', ['rm', '-f', kept as string]);
    }
    expect(run.output).toMatch(/TASK \[webserver : Configure nginx\][\s\S]*fatal: \[master-itest-broken[^\]]*\]: FAILED![\s\S]*failed to validate/);
    expect(run.output).toMatch(/this_directive_does_not_exist/);
    expect(run.output).toMatch(/stage pb_broken_nginx\.yml \(branch master\) failed for master-itest-broken/);
    expect(await sh('docker', ['image', 'ls', '-q', BROKEN])).toBe('');
  });

  it('a requirement that is not vendored is named, with the reason (no Galaxy during builds)', async () => {
    await bash(`clone=$(mktemp -d) && git clone -q "$1" "$clone" && cd "$clone" && git checkout -q -b needs-galaxy && printf 'collections:\\n  - name: example.missing\\n' > requirements.yml && git -c user.name=t -c user.email=t@t.invalid commit -qam 'needs a collection from Galaxy' && git push -q origin needs-galaxy && rm -rf "$clone"`, { args: [repo.bare] });
    const run = await runVauban('vauban', ['-s', MASTER, '-n', BROKEN, '-i', 'no', '-l', 'no', '-u', 'no', 'needs-galaxy@pb_base.yml'], { cwd, env, log });
    expect(run.exitCode, 'a build failure').toBe(2);
    expect(run.output).toMatch(/requirements\.yml asks for what is neither in the repository nor in the image, and builds have no network to Ansible Galaxy/);
    expect(run.output).toMatch(/collection example\.missing \(vendor it under collections\/ansible_collections\/example\/missing\)/);
  });

  it('vauban boot --tamper rootfs: one byte changed in the served rootfs.tgz stops the boot in the initramfs, with the message', async () => {
    const run = await runVauban('vauban', ['boot', '-n', MASTER, '-a', 'web01', '--timeout', '600', '--tamper', 'rootfs'], { cwd, env, log });
    expect(run.exitCode, tail(run, 60)).toBe(0);
    expect(run.output).toMatch(/\[OK\] boot stopped on the rootfs: expected "vauban-live: INTEGRITY CHECK FAILED: the rootfs \.\.\.", got vauban-live: INTEGRITY CHECK FAILED: the rootfs \(\S+\) has sha256 [0-9a-f]{64}, the boot line expects [0-9a-f]{64}: refusing to boot it/);
    expect(run.output).toMatch(/\[OK\] the conffs verified before/);
    expect(run.output).toMatch(/\[OK\] the host never came up/);
    expect(run.output).toContain('Result: the boot stopped on the changed rootfs, as it must');
    console.log(`tampered rootfs: from QEMU start to refusal: ${/boot to refusal: ([\d.]+) s/.exec(run.output)?.[1]} s`);
  });

  it('vauban boot --tamper server: the served conffs changed and the sums the server serves rewritten to match it (the release\'s SHA256SUMS, the host\'s entry) stops the boot in the initramfs on the project\'s signature, before anything is unpacked or the rootfs fetched (issues 27, 30)', async () => {
    const run = await runVauban('vauban', ['boot', '-n', MASTER, '-a', 'web01', '--timeout', '600', '--tamper', 'server'], { cwd, env, log });
    expect(run.exitCode, tail(run, 60)).toBe(0);
    expect(run.output).toMatch(/one byte of the served conffs-web01\.tgz changed, and SHA256SUMS and web01\.ipxe rewritten to its new sha256/);
    expect(run.output).toMatch(/\[OK\] boot stopped on the signature of SHA256SUMS: expected "[^"]+", got vauban-live: INTEGRITY CHECK FAILED: http:\S+\/releases\/\S+\/SHA256SUMS does not carry the project's signature: refusing to boot it/);
    expect(run.output).toMatch(/\[OK\] the host never came up/);
    expect(run.output).toContain('Result: the boot stopped on the changed conffs and the sums the server rewrote to match it, as it must');
    const serial = readFileSync(path.join(cwd, `vauban-boot-${MASTER}-web01.log`), 'latin1');
    // The boot line the guest got pinned the changed conffs: only the signature stood in the way.
    expect(serial).not.toMatch(/vauban-live: the conffs \S+: sha256/);
    expect(serial).not.toMatch(/vauban-live: the rootfs \S*: sha256/);
    console.log(`forged sums: from QEMU start to refusal: ${/boot to refusal: ([\d.]+) s/.exec(run.output)?.[1]} s`);
  });

  it('left the artifacts without the test check: the conffs is the one built', async () => {
    const folder = readdirSync(path.join(cwd, 'overlayfs')).find((name) => name.endsWith('-overlayfs-web01'));
    const entries = await sh('tar', ['-tzf', path.join(cwd, 'overlayfs', folder as string, 'conffs-web01.tgz')]);
    expect(entries).not.toContain('vauban-boot-check');
  });
});

// Issue 14: releases on a PXE server, booted. The master and web01's conffs
// built above are published as releases of a PXE server over ssh by the
// upload's own code; each release's conffs carries a marker file of its own
// (the rootfs and kernel are the same files, hard-linked from release to
// release). `vauban promote` and `vauban rollback` switch them; `vauban boot
// --pxe-dir` boots whatever is live there, and the guest shows which release
// (its boot line) and whose content (the marker) it came up with. Two boots:
// after a promote, the new content; after a rollback and an upload cut in the
// middle, the old content.
describe('releases of the master on a PXE server, booted after promote, rollback and a cut upload (B14)', () => {
  const MARKER = '/etc/vauban-release-marker';
  const release = (minute: number) => releaseName(new Date(Date.UTC(2026, 0, 20, 14, minute)), 'itest');
  const [R1, R2, R3] = [release(1), release(2), release(3)];
  let uploadDir: string;
  let server: PxeServer;
  let pxeEnv: Record<string, string>;
  const live = () => readlinkSync(path.join(uploadDir, MASTER, 'current'));
  const vauban = (args: string[]) => runVauban('vauban', args, { cwd, env: { ...env, ...pxeEnv }, log });

  /** web01's conffs as built, plus the marker: a release of its own content. */
  async function conffsWithMarker(text: string): Promise<ReleaseFile> {
    const tree = mkdtempSync(path.join(work, 'conffs-'));
    await sh('tar', ['-xzpf', await conffsOf('web01'), '--numeric-owner', '-C', tree]);
    writeFileSync(path.join(tree, MARKER), `${text}\n`, { mode: 0o644 });
    const local = path.join(work, `conffs-web01-${text.replace(/\W+/g, '-')}.tgz`);
    await sh('tar', ['-czf', local, '--numeric-owner', '-C', tree, '.']);
    rmSync(tree, { recursive: true, force: true });
    return { member: 'conffs-web01.tgz', local, sha256: await sha256File(local) };
  }

  async function publish(name: string, files: ReleaseFile[], extra: { kernelVersion?: string; bootFiles?: Array<{ path: string; content: string }>; cleanup?: CleanupStack } = {}) {
    return publishRelease(server, {
      name: MASTER, release: name, files, kernelVersion: extra.kernelVersion, bootFiles: extra.bootFiles ?? [], group: 'www-data', keep: 3, runId: 'itest', cleanup: extra.cleanup ?? pxeCleanup,
      // Signed as the upload signs: the initramfs holds the project's key.
      signer: (await projectSigner(path.join(cwd, 'vault'), env.VAULTED_SSHD_KEYS_KEY as string)) as ProjectSigner,
    });
  }

  /**
   * Boots what is live on the PXE server. `whole`: every check of the host
   * coming up as itself (name, conffs, key, daemons active and serving its
   * own configuration, integrity, deletion, rootovl), then powers off: the
   * suite's one full boot, of a promoted release (QEMU under TCG is the
   * suite's costliest step, so no boot checks what another already did).
   */
  async function bootLive(expected: { release: string; marker: string }, whole = false): Promise<void> {
    const checks = whole
      ? [
          '--expect-active', 'nginx.service', '--expect-active', 'vauban-hello.service', '--expect-active', 'vauban-sandboxed.service',
          '--expect-http', 'http://127.0.0.1/=served by web01', '--expect-http', 'http://127.0.0.1:8765/=served by web01',
          // Booted, the sandboxed daemon has its user namespace (root alone mapped; in a build, the whole range) and its bind mount.
          '--expect-http', 'http://127.0.0.1:8766/=uid_map 0 0 1 of web01, bound web01',
        ]
      : [];
    const run = await vauban(['boot', '-n', MASTER, '-a', 'web01', '--pxe-dir', uploadDir, '--timeout', whole ? '900' : '600', '--expect-file', `${MARKER}=${expected.marker}`, ...checks]);
    expect(run.exitCode, tail(run, 60)).toBe(0);
    expect(run.output).toContain(`[OK] release booted: expected ${expected.release}, got ${expected.release}`);
    expect(run.output).toContain(`[OK] file ${MARKER}: expected containing "${expected.marker}", got ${expected.marker}`);
    expect(run.output).toMatch(/\[OK\] integrity of rootfs\.tgz and conffs/);
    expect(run.output).toContain(`booted from: boot/by-mac/52-54-00-00-14-01.ipxe (release ${expected.release})`);
    console.log(`release ${expected.release}: boot from QEMU start to checks passed: ${/boot to checks passed: ([\d.]+) s/.exec(run.output)?.[1]} s`);
    if (!whole) return;
    expect(run.output).toMatch(/\[OK\] hostname: expected web01, got web01/);
    expect(run.output).toMatch(/\[OK\] conffs file \/\S+/);
    expect(run.output).toMatch(/\[OK\] unit nginx\.service: expected active, got active/);
    expect(run.output).toMatch(/\[OK\] unit vauban-hello\.service: expected active, got active/);
    expect(run.output).toMatch(/\[OK\] unit vauban-sandboxed\.service: expected active, got active/);
    expect(run.output).toMatch(/\[OK\] page http:\/\/127\.0\.0\.1:8766\/: expected containing "uid_map 0 0 1 of web01, bound web01", got uid_map 0 0 1 of web01, bound web01/);
    expect(run.output).toMatch(/\[OK\] page http:\/\/127\.0\.0\.1\/: expected containing "served by web01", got served by web01 \(web\)/);
    expect(run.output).toMatch(/\[OK\] page http:\/\/127\.0\.0\.1:8765\/: expected containing "served by web01"/);
    expect(run.output).toMatch(/\[OK\] sshd ed25519 key fingerprint: expected SHA256:\S+, got SHA256:/);
    expect(run.output).toMatch(/\[OK\] root file system: expected overlay/);
    // B15: both downloads checked against the entry, the deleted file gone, the writable layer on rootovl's tmpfs.
    expect(run.output).toMatch(/\[OK\] integrity of rootfs\.tgz and conffs, and the signature of SHA256SUMS: expected vauban\.conffs\.sha256=ok vauban\.manifest=ok vauban\.rootfs\.sha256=ok/);
    expect(run.output).toMatch(/\[OK\] \/etc\/issue\.net \(deleted by the host's stages\): expected absent, got absent/);
    expect(run.output).toMatch(/\[OK\] writable layer \(rootovl\): expected tmpfs <size> holds \/, got tmpfs \S+ holds \//);
    // From the generated entries: by MAC, chained to the host's entry, which names its release's files.
    expect(run.output).toMatch(new RegExp(`GET /boot/by-mac/52-54-00-00-14-01\\.ipxe 200, GET /boot/web01\\.ipxe 200, GET /${MASTER}/releases/${expected.release}/vmlinuz 200, GET /${MASTER}/releases/${expected.release}/initramfs\\.img 200`));
    // The conffs, then the release's signed sums (fetched once, before the first download is believed), then the rootfs.
    expect(run.output).toMatch(new RegExp(`GET /${MASTER}/releases/${expected.release}/conffs-web01\\.tgz 200, GET /${MASTER}/releases/${expected.release}/SHA256SUMS 200, GET /${MASTER}/releases/${expected.release}/SHA256SUMS\\.sig 200, GET /${MASTER}/releases/${expected.release}/rootfs\\.tgz 200`));
    const serial = readFileSync(path.join(cwd, `vauban-boot-${MASTER}-web01.log`), 'latin1');
    // systemd's own "Reached target" line is not always on the serial console (silenced while a getty holds it).
    expect(run.output).toMatch(/\[OK\] multi-user\.target: expected active, got active/);
    expect(serial).toMatch(/reboot: Power down/);
  }

  beforeAll(async () => {
    // The PXE user reaches UPLOAD_DIR through work (traverse only).
    chmodSync(work, 0o711);
    uploadDir = path.join(work, 'pxe');
    mkdirSync(uploadDir, { mode: 0o755 });
    pxeUser = await createPxeUser(PXE_USER);
    const key = path.join(work, 'pxe-key');
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-boot', '-f', key]);
    sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${key}.pub`, 'utf8').trim()]);
    pxeEnv = { ...pxeServerSettings(sshd, { user: PXE_USER, keyFile: key, dir: uploadDir }), UPLOAD_OWNER: 'www-data' };
    const sshWork = path.join(work, 'ssh');
    mkdirSync(sshWork, { mode: 0o700 });
    const [target] = pxeTargets(pxeEnv, sshWork) as [SshTarget];
    server = await openSshServer({ target, dir: uploadDir, folders: [MASTER], runOptions: {} });
  }, 120_000);

  it('R1 then R2 (R2 only a conffs: rootfs and kernel links carried over); rollback, then promote the newest: R2 boots from its entry by MAC, with its own content, as web01 with its daemons active and serving its own configuration, then powers off', async () => {
    const kernel = /kernel (\S+): /.exec(readFileSync(log, 'utf8'))?.[1] as string;
    for (const [file, kind] of [['vmlinuz', 'vmlinuz'], ['initramfs.img', 'initramfs.img']] as const) {
      const local = path.join(cwd, file);
      await putFile(server, { local, path: `linux/${kind}-${kernel}`, sha256: await sha256File(local), group: 'www-data', runId: 'itest', cleanup: pxeCleanup });
    }
    const byMac = path.join(path.dirname(await conffsOf('web01')), 'by-mac', '52-54-00-00-14-01.ipxe');
    const rootfs: ReleaseFile = { member: 'rootfs.tgz', local: path.join(cwd, 'rootfs.tgz'), sha256: await sha256File(path.join(cwd, 'rootfs.tgz')) };
    await publish(R1, [rootfs, await conffsWithMarker('release one')], { kernelVersion: kernel, bootFiles: [{ path: 'boot/by-mac/52-54-00-00-14-01.ipxe', content: readFileSync(byMac, 'utf8') }] });
    const second = await publish(R2, [await conffsWithMarker('release two')]);
    expect(second.inherited).toContain('rootfs.tgz');
    expect(statSync(path.join(uploadDir, MASTER, 'releases', R2, 'rootfs.tgz')).ino).toBe(statSync(path.join(uploadDir, MASTER, 'releases', R1, 'rootfs.tgz')).ino);
    expect(live()).toBe(`releases/${R2}`);
    const back = await vauban(['rollback', MASTER]);
    expect(back.exitCode, tail(back)).toBe(0);
    expect(live()).toBe(`releases/${R1}`);
    const promoted = await vauban(['promote', MASTER]);
    expect(promoted.exitCode, tail(promoted)).toBe(0);
    expect(live()).toBe(`releases/${R2}`);
    await bootLive({ release: R2, marker: 'release two' }, true);
  });

  it('rollback, then an upload of R3 cut while its rootfs is sent: current stays on R1, which boots, with its own content', async () => {
    const back = await vauban(['rollback', MASTER]);
    expect(back.exitCode, tail(back)).toBe(0);
    expect(live()).toBe(`releases/${R1}`);
    // A rootfs that is new (a sent file, not linked) and still a valid tar: the built one and two more blocks of zeros.
    const bigger = path.join(work, 'rootfs-r3.tgz');
    copyFileSync(path.join(cwd, 'rootfs.tgz'), bigger);
    appendFileSync(bigger, Buffer.alloc(1024));
    const releases = path.join(uploadDir, MASTER, 'releases');
    const watcher = killWhenRootfsIsSent(releases, PXE_USER, 60_000);
    const cut = new CleanupStack();
    const conffs = await conffsWithMarker('release three');
    await expect(publish(R3, [conffs, { member: 'rootfs.tgz', local: bigger, sha256: await sha256File(bigger) }], { cleanup: cut })).rejects.toThrow();
    expect(await watcher).toBe(true);
    // What the run does at its end: its cleanup (the partial folder goes).
    await cut.unwind(() => undefined);
    expect(live()).toBe(`releases/${R1}`);
    expect(readdirSync(releases).sort()).toEqual([R1, R2]);
    await bootLive({ release: R1, marker: 'release one' });
  });
});

