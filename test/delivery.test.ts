// Issue 6: delivery on real components. A private sshd on loopback stands in
// for a PXE server (its own host key, an authorized key, a non-root user with
// sudo); Debian's docker-registry with basic auth stands in for the registry;
// the project is a git clone, as in a GitLab job (CI=true). vauban-ci builds
// the whole three-level fixture tree, each upload a release (issue 14); then
// an interrupted upload, and a re-deploy of an older tag with
// vauban-version-control.
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBaseImage, makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';
import { watchConffsLogs, type LogWatch, CONFFS_LOG_DIR } from './helpers/logs.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { imageIds, removeNewImages } from './helpers/images.js';
import { createPxeUser, killWhenRootfsIsSent, type PxeUser } from './helpers/pxe-user.js';
import { startRegistry, type TestRegistry } from './helpers/registry.js';
import { bash, sh, uniqueName } from './helpers/sh.js';
import { pxeServerSettings, startSshd, type TestSshd } from './helpers/sshd.js';
import { runVauban, tail, type VaubanRun } from './helpers/vauban.js';
import { createProjectKey, readProjectKey } from '../src/vault/project-key.js';

const ID = uniqueName('dl').toLowerCase().replace(/[^a-z0-9]/g, '');
const ROOT = `itest-${ID}/iso`;
const MASTER_A = `master-${ID}-a`;
const MASTER_B = `master-${ID}-b`;
const REGISTRY_PASSWORD = `registry-pw-${ID}-Zq9`;
const PASSPHRASE = `vault-pass-${ID}-Xk2`;
const GIT_TOKEN = `git-token-${ID}-Jw5`;
const PXE_USER = 'vauban-pxe-test';

let work: string;
let cwd: string;
let log: string;
let uploadDir: string;
let repo: AnsibleRepo;
let sshd: TestSshd;
let registry: TestRegistry;
let pxeUser: PxeUser;
let env: Record<string, string>;
let before: HostState;
let imagesBefore: Set<string>;
let logs: LogWatch;
const psLines = new Set<string>();

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Runs a command while sampling `ps -eo args` every 100 ms. */
async function sampled(run: () => Promise<VaubanRun>): Promise<VaubanRun> {
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      for (const line of (await sh('ps', ['-eo', 'args'])).split('\n')) psLines.add(line);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return await run();
  } finally {
    stop = true;
    await sampler;
  }
}

/** Every file and symlink under UPLOAD_DIR, relative, sorted. */
function serverTree(): string[] {
  return readdirSync(uploadDir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(uploadDir, path.join(entry.parentPath, entry.name)))
    .sort();
}

async function tagsOf(image: string): Promise<string[]> {
  const response = await registry.api(`/v2/vauban/${image}/tags/list`);
  expect(response.status).toBe(200);
  return ((response.body as { tags: string[] }).tags ?? []).sort();
}

async function digestOf(image: string, tag: string): Promise<string | null> {
  const response = await registry.api(`/v2/vauban/${image}/manifests/${tag}`, 'application/vnd.docker.distribution.manifest.v2+json');
  return response.headers.get('docker-content-digest');
}

beforeAll(async () => {
  before = await readHostState();
  imagesBefore = await imageIds();
  logs = watchConffsLogs();
  work = mkdtempSync('/var/tmp/vauban-itest-delivery-');
  // The PXE user's sshd session reads its authorized keys below it.
  chmodSync(work, 0o711);
  log = path.join(work, 'vauban.log');
  repo = await makeAnsibleRepo(work);

  // The PXE server: a non-root user with sudo, an sshd accepting the CI upload key.
  pxeUser = await createPxeUser(PXE_USER);
  const uploadKey = path.join(work, 'upload-key');
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vauban-test-upload', '-f', uploadKey]);
  sshd = await startSshd(path.join(work, 'sshd'), [readFileSync(`${uploadKey}.pub`, 'utf8').trim()]);
  uploadDir = path.join(work, 'pxe');
  mkdirSync(uploadDir, { mode: 0o755 });

  registry = await startRegistry(path.join(work, 'registry'), 'vauban-ci', REGISTRY_PASSWORD);

  // The project, as GitLab checks it out: config.yml, vault/, and the base file.
  const project = path.join(work, 'project.git');
  const seed = path.join(work, 'project-seed');
  mkdirSync(path.join(seed, 'vault'), { recursive: true });
  writeFileSync(path.join(seed, 'vault', '.gitkeep'), '');
  // The project signs (issue 30): its key is in the repository, as `vauban keygen` left it. Registry reuse needs it.
  await createProjectKey(path.join(seed, 'vault'), PASSPHRASE);
  writeFileSync(
    path.join(seed, 'config.yml'),
    [
      '"debian-12-generic-amd64.raw":',
      `  name: ${ROOT}`,
      `  ${MASTER_A}:`,
      '    stages: [pb_base.yml]',
      `    ${MASTER_B}:`,
      '      stages: [feature@pb_web.yml]',
      '      conffs: "web01"',
      '',
    ].join('\n'),
  );
  await bash('git init -q -b master "$1" && git -C "$1" add -A && git -C "$1" -c user.name=t -c user.email=t@t commit -q -m seed && git clone -q --bare "$1" "$2"', { args: [seed, project] });
  cwd = path.join(work, 'checkout');
  await sh('git', ['clone', '-q', project, cwd]);
  symlinkSync(await fixtureBaseImage(), path.join(cwd, 'debian-12-generic-amd64.raw'));
  mkdirSync(path.join(work, 'home'));

  env = {
    HOME: path.join(work, 'home'),
    CI: 'true',
    ...repo.settings,
    VAULTED_SSHD_KEYS_KEY: PASSPHRASE,
    SQUASHFS_COMPRESSION: 'zstd',
    REGISTRY_HOSTNAME: registry.host,
    REGISTRY_USERNAME: registry.username,
    REGISTRY_PASSWORD,
    ...pxeServerSettings(sshd, { user: PXE_USER, keyFile: uploadKey, dir: uploadDir }),
    UPLOAD_OWNER: 'www-data',
    GITLAB_USER_NAME: 'CI Bot',
    GITLAB_USER_EMAIL: 'ci@vauban.invalid',
    GIT_TOKEN_USERNAME: 'vauban-ci-token',
    GIT_TOKEN_PASSWORD: GIT_TOKEN,
    CI_REPOSITORY_URL: `file://${project}`,
    CI_COMMIT_REF_NAME: 'master',
  };
}, 600_000);

afterAll(async () => {
  await sshd?.stop();
  await registry?.stop();
  await pxeUser?.remove();
  await removeNewImages(imagesBefore);
  logs.remove();
  if (process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

describe('vauban-ci stage=all build_parents=-1 on a three-level tree', () => {
  let run: VaubanRun;
  beforeAll(async () => {
    run = await sampled(() => runVauban('vauban-ci', [], { cwd, env: { ...env, name: MASTER_B, stage: 'all', build_parents: '-1' }, log }));
  }, 1_800_000);

  it('builds every ancestor, then the master, its conffs and initramfs, and prints /imginfo', () => {
    expect(run.exitCode, tail(run, 80)).toBe(0);
    const order = [...run.output.matchAll(/\[vauban-ci\] \(\d+\/(\d+)\) (\w+) of (\S+):/g)].map((match) => `${match[2]} ${match[3]}`);
    expect(order).toEqual([
      `rootfs ${ROOT}`,
      `initramfs ${ROOT}`,
      `rootfs ${MASTER_A}`,
      `initramfs ${MASTER_A}`,
      `rootfs ${MASTER_B}`,
      `conffs ${MASTER_B}`,
      `initramfs ${MASTER_B}`,
    ]);
    expect(run.output).toContain(`[vauban-ci] ${MASTER_B} was built. /imginfo:`);
    expect(run.output).toMatch(/git-branch: 'feature'/);
  });

  it('left the server folder in the A9 layout as releases (B14): the rootfs run, then the conffs run, each a release; the article\'s paths through current', async () => {
    const kernel = readdirSync(path.join(uploadDir, 'linux')).find((name) => name.startsWith('vmlinuz-'))?.slice('vmlinuz-'.length);
    expect(kernel).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    // vauban-ci uploads the rootfs, then the conffs (a release that keeps the rootfs), then the kernel files (a release
    // that keeps both, with the kernel files its own: issue 30).
    const releases = readdirSync(path.join(uploadDir, MASTER_B, 'releases')).sort();
    expect(releases).toHaveLength(3);
    const [first, second, third] = releases as [string, string, string];
    expect(serverTree()).toEqual(
      [
        `linux/initramfs.img-${kernel}`,
        `linux/vmlinuz-${kernel}`,
        'boot/web01.ipxe',
        // .vauban.lock: the master's lock, held by each publish (issue 30); hidden, never served.
        ...['.vauban.lock', 'conffs-web01.tgz', 'current', 'initramfs.img', 'rootfs.tgz', 'sbom.cdx.json', 'vmlinuz'].map((member) => `${MASTER_B}/${member}`),
        // Each release signed with the project's key (SHA256SUMS.sig, issue 30).
        ...['SHA256SUMS', 'SHA256SUMS.sig', 'initramfs.img', 'rootfs.tgz', 'sbom.cdx.json', 'vmlinuz'].map((member) => `${MASTER_B}/releases/${first}/${member}`),
        ...['SHA256SUMS', 'SHA256SUMS.sig', 'conffs-web01.tgz', 'initramfs.img', 'rootfs.tgz', 'sbom.cdx.json', 'vmlinuz', 'web01.ipxe'].map((member) => `${MASTER_B}/releases/${second}/${member}`),
        ...['SHA256SUMS', 'SHA256SUMS.sig', 'conffs-web01.tgz', 'initramfs.img', 'rootfs.tgz', 'sbom.cdx.json', 'vmlinuz', 'web01.ipxe'].map((member) => `${MASTER_B}/releases/${third}/${member}`),
      ].sort(),
    );
    expect(await sh('readlink', [path.join(uploadDir, MASTER_B, 'current')])).toBe(`releases/${third}`);
    // The third release holds its kernel files (linux/ has hard links of them, its A9 paths); the first two link to linux/.
    for (const kind of ['vmlinuz', 'initramfs.img']) {
      const own = path.join(uploadDir, MASTER_B, 'releases', third, kind);
      expect(lstatSync(own).isFile(), kind).toBe(true);
      expect(statSync(own).ino, kind).toBe(statSync(path.join(uploadDir, 'linux', `${kind}-${kernel}`)).ino);
    }
    expect(readFileSync(path.join(uploadDir, MASTER_B, 'releases', third, 'SHA256SUMS'), 'utf8')).toContain(`${await sha256(path.join(cwd, 'initramfs.img'))}  initramfs.img`);
    // Each release's sums carry the project's signature, as gpgv (what the initramfs runs) checks it (issue 30).
    const keyring = path.join(work, 'project-key.gpg');
    writeFileSync(keyring, (await readProjectKey(path.join(cwd, 'vault')))?.publicKeyring ?? new Uint8Array());
    const gnupg = mkdtempSync(path.join(work, 'gnupg-'));
    for (const release of releases) {
      const folder = path.join(uploadDir, MASTER_B, 'releases', release);
      await sh('gpgv', ['--homedir', gnupg, '--keyring', keyring, path.join(folder, 'SHA256SUMS.sig'), path.join(folder, 'SHA256SUMS')]);
    }
    for (const member of ['rootfs.tgz', 'sbom.cdx.json', 'vmlinuz', 'initramfs.img', 'conffs-web01.tgz']) expect(await sh('readlink', [path.join(uploadDir, MASTER_B, member)])).toBe(`current/${member}`);
    expect(await sh('readlink', [path.join(uploadDir, MASTER_B, 'releases', second, 'vmlinuz')])).toBe(`../../../linux/vmlinuz-${kernel}`);
    expect(await sh('readlink', [path.join(uploadDir, 'boot', 'web01.ipxe')])).toBe(`../${MASTER_B}/current/web01.ipxe`);
    // The same rootfs in both releases: linked, not copied.
    expect(statSync(path.join(uploadDir, MASTER_B, 'releases', first, 'rootfs.tgz')).ino).toBe(statSync(path.join(uploadDir, MASTER_B, 'releases', second, 'rootfs.tgz')).ino);
    expect(await sha256(path.join(uploadDir, MASTER_B, 'vmlinuz'))).toBe(await sha256(path.join(cwd, 'vmlinuz')));
    expect(await sha256(path.join(uploadDir, MASTER_B, 'initramfs.img'))).toBe(await sha256(path.join(cwd, 'initramfs.img')));
    expect(await sha256(path.join(uploadDir, MASTER_B, 'rootfs.tgz'))).toBe(await sha256(path.join(cwd, 'rootfs.tgz')));
    const conffsFolder = readdirSync(path.join(cwd, 'overlayfs')).find((name) => name.endsWith('-overlayfs-web01')) as string;
    const conffsSha = await sha256(path.join(cwd, 'overlayfs', conffsFolder, 'conffs-web01.tgz'));
    expect(await sha256(path.join(uploadDir, MASTER_B, 'conffs-web01.tgz'))).toBe(conffsSha);
    // web01's entry boots that release and pins what is served.
    const entry = readFileSync(path.join(uploadDir, 'boot', 'web01.ipxe'), 'utf8');
    expect(entry).toContain(`root=live:\${vauban-url}/${MASTER_B}/releases/${third}/rootfs.tgz`);
    expect(entry).toContain(`vauban.rootfs.sha256=${await sha256(path.join(cwd, 'rootfs.tgz'))} vauban.conffs.sha256=${conffsSha}`);
    expect(run.output).toMatch(new RegExp(`${MASTER_B} release ${second} is live, 1 boot entry; kept from ${first}: initramfs\\.img, rootfs\\.tgz, sbom\\.cdx\\.json, vmlinuz`));
    expect(run.output).toMatch(new RegExp(`${MASTER_B} release ${third} is live, 1 boot entry; kept from ${second}: conffs-web01\\.tgz, rootfs\\.tgz, sbom\\.cdx\\.json`));
  });

  it('set the modes: readable by UPLOAD_OWNER\'s group only, files 0640, folders 0750 (the sudo path; issue 13, item 8)', async () => {
    for (const file of serverTree().filter((name) => !name.endsWith('/current') && !name.endsWith('/.vauban.lock'))) {
      const [mode, group] = (await sh('stat', ['-L', '-c', '%a %G', path.join(uploadDir, file)])).split(' ');
      expect(mode, file).toBe('640');
      expect(group, file).toBe('www-data');
    }
    const releases = readdirSync(path.join(uploadDir, MASTER_B, 'releases')).map((release) => `${MASTER_B}/releases/${release}`);
    for (const folder of ['linux', MASTER_B, `${MASTER_B}/releases`, ...releases, 'boot', 'boot/by-mac']) {
      expect(await sh('stat', ['-c', '%a %G', path.join(uploadDir, folder)]), folder).toBe('750 www-data');
    }
  });

  it('pushed :latest, a dated tag and :deployed of the master to the registry', async () => {
    const tags = await tagsOf(MASTER_B);
    expect(tags).toContain('latest');
    expect(tags).toContain('deployed');
    expect(tags.some((tag) => /^\d{4}-\d{2}-\d{2}T\d{4}$/.test(tag))).toBe(true);
    expect(await tagsOf(MASTER_A)).toContain('latest');
    expect(await tagsOf(MASTER_A)).not.toContain('deployed');
  });

  it('committed and pushed the new vault entries as [CI] Update vault/', async () => {
    const subjects = (await sh('git', ['--git-dir', path.join(work, 'project.git'), 'log', '--format=%s', 'master'])).split('\n');
    expect(subjects.filter((subject) => subject === '[CI] Update vault/').length).toBeGreaterThanOrEqual(1);
    const files = await sh('git', ['--git-dir', path.join(work, 'project.git'), 'ls-tree', '-r', '--name-only', 'master', 'vault/']);
    for (const entry of [`vault/${MASTER_A}.tar.gpg`, `vault/${MASTER_B}.tar.gpg`, 'vault/web01.tar.gpg']) expect(files).toContain(entry);
  });

  it('never showed the registry password, the vault passphrase or the git token in ps or in a log', () => {
    expect(psLines.size).toBeGreaterThan(50);
    const texts = [readFileSync(log, 'utf8'), ...logs.created().map((name) => readFileSync(path.join(CONFFS_LOG_DIR, name), 'utf8'))];
    for (const secret of [REGISTRY_PASSWORD, PASSPHRASE, GIT_TOKEN]) {
      expect([...psLines].filter((line) => line.includes(secret))).toEqual([]);
      expect(texts.filter((text) => text.includes(secret))).toEqual([]);
    }
  });
});

describe('a cut upload, and a re-deploy', () => {
  let firstTag: string;
  let firstSha: string;

  it('an upload interrupted by killing the ssh connection mid-file leaves the previous release live and nothing partial (B14)', async () => {
    firstSha = await sha256(path.join(uploadDir, MASTER_B, 'rootfs.tgz'));
    firstTag = (await tagsOf(MASTER_B)).find((tag) => /^\d{4}-/.test(tag)) as string;
    // A second build must get another date tag (they have a minute's precision).
    while (new Date().toISOString().slice(0, 16).replace(':', '') === firstTag) await new Promise((resolve) => setTimeout(resolve, 1000));
    const liveBefore = await sh('readlink', [path.join(uploadDir, MASTER_B, 'current')]);
    const watcher = killWhenRootfsIsSent(path.join(uploadDir, MASTER_B, 'releases'), PXE_USER, 240_000);
    // --no-cache: a new build of the same inputs, so that there is a new release to upload (and to cut).
    const run = await runVauban('vauban', ['-s', MASTER_A, '-n', MASTER_B, '-i', 'no', '-l', 'no', '--no-cache', 'feature@pb_web.yml'], { cwd, env, log });
    expect(await watcher).toBe(true);
    expect(run.exitCode, 'a build failure').toBe(2);
    expect(await sha256(path.join(uploadDir, MASTER_B, 'rootfs.tgz'))).toBe(firstSha);
    expect(await sh('readlink', [path.join(uploadDir, MASTER_B, 'current')])).toBe(liveBefore);
    expect(readdirSync(path.join(uploadDir, MASTER_B)).filter((name) => name.includes('.vauban-'))).toEqual([]);
    expect(readdirSync(path.join(uploadDir, MASTER_B, 'releases')).filter((name) => name.startsWith('.'))).toEqual([]);
    // `deployed` did not move to the image whose upload failed.
    expect(await digestOf(MASTER_B, 'deployed')).toBe(await digestOf(MASTER_B, firstTag));
  }, 900_000);

  it('vauban-version-control re-deploys the older tag: the server rootfs.tgz becomes that image\'s, deployed moves', async () => {
    // Put the newer build in place first, so that the re-deploy has something to change: the image of the cut
    // run (built, pushed, never deployed), reused here (same inputs) and uploaded, not built a third time.
    // No build of its inputs is left on this machine (as on a fresh CI runner: the first build had the same
    // inputs too): the run pulls the cut run's from the registry (issue 12).
    const stageImage = `${MASTER_A}/pb_web.yml`;
    const cutBuild = (await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', stageImage])).trim();
    const inputs = (await sh('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "vauban.inputs"}}', stageImage])).trim();
    const sameInputs = new Set((await sh('docker', ['image', 'ls', '-q', '--no-trunc', '--filter', `label=vauban.inputs=${inputs}`])).split('\n').filter(Boolean));
    expect(sameInputs.has(cutBuild)).toBe(true);
    await sh('docker', ['image', 'rm', '-f', ...sameInputs]);
    const rebuild = await runVauban('vauban', ['-s', MASTER_A, '-n', MASTER_B, '-i', 'no', '-l', 'no', 'feature@pb_web.yml'], { cwd, env, log });
    expect(rebuild.exitCode, tail(rebuild)).toBe(0);
    expect(rebuild.output).toMatch(new RegExp(`reuse image ${MASTER_A}/pb_web\\.yml: inputs unchanged \\(built [^)]*\\), pulled from the registry`));
    expect((await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', stageImage])).trim()).toBe(cutBuild);
    const newest = (await tagsOf(MASTER_B)).filter((tag) => /^\d{4}-/.test(tag)).sort().at(-1) as string;
    expect(newest).not.toBe(firstTag);
    expect(await digestOf(MASTER_B, 'deployed')).toBe(await digestOf(MASTER_B, newest));
    const rebuiltSha = await sha256(path.join(uploadDir, MASTER_B, 'rootfs.tgz'));
    expect(rebuiltSha).not.toBe(firstSha);

    const run = await runVauban('vauban-version-control', ['-t', firstTag, '-i', MASTER_B, '-m', MASTER_B], { cwd, env, log });
    expect(run.exitCode, tail(run)).toBe(0);
    expect(await digestOf(MASTER_B, 'deployed')).toBe(await digestOf(MASTER_B, firstTag));
    // The served rootfs is now the older image's: its /imginfo is that image's.
    const served = path.join(work, 'served');
    mkdirSync(served);
    await sh('tar', ['-xf', path.join(uploadDir, MASTER_B, 'rootfs.tgz'), '-C', served]);
    const servedImginfo = await sh('unsquashfs', ['-cat', path.join(served, 'rootfs.img'), 'imginfo']);
    const olderImginfo = await sh('docker', ['run', '--rm', `${registry.host}/vauban/${MASTER_B}:${firstTag}`, 'cat', '/imginfo']);
    // The rootfs' /imginfo is the image's, plus the sha256 of the SBOM made from that tree (issue 15, item 7).
    const sbomLine = /\nsbom-sha256: "[0-9a-f]{64}"\n?$/;
    expect(servedImginfo).toMatch(sbomLine);
    expect(servedImginfo.replace(sbomLine, '\n').trimEnd()).toBe(olderImginfo.trimEnd());
    expect(await sha256(path.join(uploadDir, MASTER_B, 'rootfs.tgz'))).not.toBe(rebuiltSha);
  }, 900_000);
});
