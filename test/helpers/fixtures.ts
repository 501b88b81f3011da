// The fixtures of the integration tests, built by the tests themselves and
// cached between runs under a folder keyed by their recipe:
// - a Debian 12 base packed as a partitioned raw disk image (debootstrap);
// - a git repository of real Ansible content, served as a local git URL.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bash, sh } from './sh.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const CACHE_DIR = process.env.VAUBAN_TEST_CACHE ?? '/var/cache/vauban-test';
const SUITE = 'bookworm';
const MIRROR = process.env.VAUBAN_TEST_MIRROR ?? 'http://deb.debian.org/debian';

function recipeKey(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** The fixture base image, built once per recipe (about 90 s) and reused after. */
export async function fixtureBaseImage(): Promise<string> {
  const script = path.join(FIXTURES, 'make-base-image.sh');
  const key = recipeKey(readFileSync(script, 'utf8'), SUITE, MIRROR);
  const dir = path.join(CACHE_DIR, `base-${key}`);
  const image = path.join(dir, 'debian-12-generic-amd64.raw');
  if (existsSync(image)) return image;
  // Fixtures of older recipes are never used again: free their disk.
  for (const old of existsSync(CACHE_DIR) ? readdirSync(CACHE_DIR) : []) {
    if (old.startsWith('base-') && old !== path.basename(dir)) rmSync(path.join(CACHE_DIR, old), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  // flock: two test processes never build the same fixture at once.
  await sh('flock', [path.join(dir, '.lock'), 'bash', '-c', `[ -e "$1" ] || bash "$2" "$1" "$3" "$4"`, '_', image, script, SUITE, MIRROR]);
  return image;
}

export interface AnsibleRepo {
  /** file:// URL of the bare repository. */
  url: string;
  /** Path of the bare repository. */
  bare: string;
  /** Commit of each branch. */
  shas: { master: string; feature: string };
  /** The settings a run on this repository takes: ANSIBLE_REPO, and ANSIBLE_PACKAGES for a lean repository. */
  settings: Record<string, string>;
}

export interface AnsibleRepoOptions {
  /**
   * The repository as real users have it: requirements.yml asking for
   * community.general and ansible.posix, so images carry the full Ansible
   * distribution (the default of ANSIBLE_PACKAGES). Otherwise a lean copy
   * without requirements.yml, and images with ansible-core only: the
   * distribution's install costs ~45 s per Dockerfile.base, and only the tests
   * of real Ansible content (boot.test.ts) need it.
   */
  fullAnsible?: boolean;
}

/**
 * A bare git repository of test/fixtures/ansible, on branch master, plus a
 * `feature` branch that adds pb_web.yml (a second per-host template).
 */
export async function makeAnsibleRepo(parent: string, options: AnsibleRepoOptions = {}): Promise<AnsibleRepo> {
  const work = path.join(parent, 'ansible-work');
  const bare = path.join(parent, 'ansible.git');
  cpSync(path.join(FIXTURES, 'ansible'), work, { recursive: true });
  if (options.fullAnsible !== true) rmSync(path.join(work, 'requirements.yml'));
  const git = (...args: string[]) => sh('git', ['-c', 'user.name=vauban-test', '-c', 'user.email=test@vauban.invalid', ...args], { cwd: work });
  await git('init', '-q', '-b', 'master');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'fixture: base playbooks');
  const master = (await git('rev-parse', 'HEAD')).trim();
  await git('checkout', '-q', '-b', 'feature');
  await bash(`cat > pb_web.yml <<'PB'
# On branch feature only: a second per-host file.
- hosts: all
  gather_facts: false
  tasks:
    - name: Template the web configuration
      ansible.builtin.copy:
        content: "listen {{ http_port | default('80') }} on {{ inventory_hostname }}\\n"
        dest: /etc/vauban-web.conf
        mode: "0644"
PB`, { cwd: work });
  await git('add', '-A');
  await git('commit', '-q', '-m', 'fixture: pb_web.yml');
  const feature = (await git('rev-parse', 'HEAD')).trim();
  await git('checkout', '-q', 'master');
  await sh('git', ['clone', '-q', '--bare', work, bare]);
  const url = `file://${bare}`;
  const settings: Record<string, string> = { ANSIBLE_REPO: url, ...(options.fullAnsible === true ? {} : { ANSIBLE_PACKAGES: 'ansible-core' }) };
  return { url, bare, shas: { master, feature }, settings };
}

export interface Partition {
  number: number;
  /** Byte offset and size in the image. */
  offset: number;
  size: number;
}

/** Reads a disk image's partition table with sfdisk. */
export async function readPartitions(image: string): Promise<Partition[]> {
  const table = JSON.parse(await sh('sfdisk', ['--json', image])) as {
    partitiontable: { sectorsize?: number; partitions: Array<{ node: string; start: number; size: number }> };
  };
  const sector = table.partitiontable.sectorsize ?? 512;
  return table.partitiontable.partitions.map((partition) => ({
    number: Number(/(\d+)$/.exec(partition.node)?.[1]),
    offset: partition.start * sector,
    size: partition.size * sector,
  }));
}

export interface OtherBases {
  plainIso: string;
  hybridIso: string;
  qcow2: string;
  rawXz: string;
  tarXz: string;
}

/**
 * The fixture in the other forms Debian publishes (live ISOs plain and hybrid,
 * qcow2, .raw.xz, .tar.xz), made from the fixture raw image once per recipe
 * (about 2 min) and cached beside it.
 */
export async function fixtureOtherBases(): Promise<OtherBases> {
  const raw = await fixtureBaseImage();
  const script = path.join(FIXTURES, 'make-other-bases.sh');
  const key = recipeKey(readFileSync(script, 'utf8'), path.basename(path.dirname(raw)));
  const dir = path.join(CACHE_DIR, `other-bases-${key}`);
  const bases: OtherBases = {
    plainIso: path.join(dir, 'live-plain.iso'),
    hybridIso: path.join(dir, 'live-hybrid.iso'),
    qcow2: path.join(dir, 'debian.qcow2'),
    rawXz: path.join(dir, 'debian.raw.xz'),
    tarXz: path.join(dir, 'debian.tar.xz'),
  };
  if (Object.values(bases).every((file) => existsSync(file))) return bases;
  for (const old of existsSync(CACHE_DIR) ? readdirSync(CACHE_DIR) : []) {
    if (old.startsWith('other-bases-') && old !== path.basename(dir)) rmSync(path.join(CACHE_DIR, old), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  const root = (await readPartitions(raw)).find((partition) => partition.number === 1);
  if (root === undefined) throw new Error(`${raw} has no partition 1`);
  await sh('flock', [
    path.join(dir, '.lock'),
    'bash', '-c', `[ -e "$1/debian.tar.xz" ] || bash "$2" "$3" "$4" "$5" "$1"`,
    '_', dir, script, raw, String(root.offset), String(root.size),
  ]);
  return bases;
}
