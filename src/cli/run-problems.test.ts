import { describe, expect, it } from 'vitest';
import type { LoadedSettings } from '../config/settings.js';
import { planRun } from '../model/plan.js';
import { parseVaubanArgs } from './vauban-args.js';
import { runProblems, toolProblems as missingTools } from './run-problems.js';

const INSTALL_FILES = ['Dockerfile.base', 'stage.sh', 'dracut.conf', 'modules.d'].map((file) => `/opt/vauban/${file}`);

function problemsOf(argv: string[], values: LoadedSettings['values'], existing: string[], installed = INSTALL_FILES): string[] {
  const outcome = parseVaubanArgs(argv, { out: () => undefined, err: () => undefined });
  if (outcome.kind !== 'run') throw new Error('parse failed');
  const settings: LoadedSettings = { values, sources: {}, ci: false, secrets: [] };
  return runProblems(outcome.options, settings, planRun(outcome.options), { cwd: '/project', installDir: '/opt/vauban', exists: (file) => existing.includes(file) || installed.includes(file) }).map((one) => one.message);
}

const SETTINGS = { ANSIBLE_REPO: 'git@git.example.com:ops/ansible.git', VAULTED_SSHD_KEYS_KEY: 'x' };

describe('--dry-run lists every problem the run would stop on (issue 13, item 10)', () => {
  it('a missing -f file and a missing -k key, with missing settings', () => {
    expect(problemsOf(['-f', 'nope.raw', '-k', 'keys/ro', '-u', 'no', '-i', 'no'], { ANSIBLE_REPO: SETTINGS.ANSIBLE_REPO }, [])).toEqual([
      'setting VAULTED_SSHD_KEYS_KEY is required by the requested steps but is not set',
      'the base file nope.raw (--iso) does not exist',
      'the deploy key /project/keys/ro (-k, --ssh-priv-key) does not exist, and ANSIBLE_REPO is an ssh URL',
    ]);
  });

  it('nothing when the files exist', () => {
    expect(problemsOf(['-f', 'base.raw', '-u', 'no', '-i', 'no'], SETTINGS, ['/project/base.raw', '/project/ansible-ro'])).toEqual([]);
  });

  it('no deploy key needed for an https repository, no base file when no step reads it', () => {
    expect(problemsOf(['-f', 'nope.raw', '-u', 'no', '-i', 'no'], { ...SETTINGS, ANSIBLE_REPO: 'https://git.example.com/a.git' }, ['/project/nope.raw'])).toEqual([]);
    expect(problemsOf(['-s', 'x/iso', '-f', 'nope.raw', '-r', 'no', '-i', 'no', '-u', 'no'], SETTINGS, [])).toEqual([]);
  });

  it('an upload key without the servers\' known hosts (item 7)', () => {
    const key = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n').toString('base64');
    const upload = { ...SETTINGS, UPLOAD_HOSTS_LIST: 'pxe1', UPLOAD_DIR: '/srv/pxe', UPLOAD_CI_SSH_KEY: key };
    expect(problemsOf(['-s', 'x/iso', '-i', 'no'], upload, ['/project/ansible-ro'])).toEqual([
      "setting UPLOAD_KNOWN_HOSTS is required with UPLOAD_CI_SSH_KEY: the PXE servers' host keys are checked, never accepted blindly",
    ]);
    expect(problemsOf(['-s', 'x/iso', '-i', 'no'], { ...upload, UPLOAD_KNOWN_HOSTS: 'pxe1 ssh-ed25519 AAAA' }, ['/project/ansible-ro'])).toEqual([]);
  });

  it('vauban\'s own files missing from its install folder, for the steps that read them (issue 15)', () => {
    const all = ['-f', 'base.raw', '-a', 'web*', '-u', 'no'];
    const existing = ['/project/base.raw', '/project/ansible-ro'];
    expect(problemsOf(all, SETTINGS, existing, [])).toEqual([
      "vauban's own dracut.conf is missing from its install folder /opt/vauban",
      "vauban's own modules.d is missing from its install folder /opt/vauban",
      "vauban's own Dockerfile.base is missing from its install folder /opt/vauban",
      "vauban's own stage.sh is missing from its install folder /opt/vauban",
      "vauban's own play/controller.py is missing from its install folder /opt/vauban",
      "vauban's own play/agent.py is missing from its install folder /opt/vauban",
    ]);
    // From a source image: only stage.sh is read.
    expect(problemsOf(['-s', 'x/iso', '-i', 'no', '-l', 'no', '-u', 'no'], SETTINGS, existing, ['/opt/vauban/stage.sh'])).toEqual([]);
  });
});

describe('the programs the requested steps run, missing on this machine (issue 31)', () => {
  function toolProblems(argv: string[], installed: string[], baseKind?: string): string[] {
    const outcome = parseVaubanArgs(argv, { out: () => undefined, err: () => undefined });
    if (outcome.kind !== 'run') throw new Error('parse failed');
    return missingTools(outcome.options, planRun(outcome.options), baseKind, (name) => installed.includes(name)).map((one) => `${one.message} (${one.hint ?? ''})`);
  }

  it('names each with its Debian package, only for the steps asked', () => {
    expect(toolProblems(['-d', 'bookworm', '-u', 'no', '-i', 'no', '-l', 'no'], ['git', 'tar', 'chroot', 'losetup', 'mount', 'sfdisk'])).toEqual([
      'mksquashfs is not installed on this machine, and the requested steps run it (apt-get install squashfs-tools)',
      'debootstrap is not installed on this machine, and the requested steps run it (apt-get install debootstrap)',
    ]);
    // Conffs only, from a source image: no mount, no squashfs, no debootstrap.
    expect(toolProblems(['-r', 'no', '-s', 'master-a', '-a', 'web01', '-u', 'no', '-i', 'no'], ['git'])).toEqual([]);
    expect(toolProblems(['-r', 'no', '-s', 'master-a', '-a', 'web01', '-u', 'yes', '-i', 'no'], ['git'])).toEqual([
      'ssh is not installed on this machine, and the requested steps run it (apt-get install openssh-client)',
    ]);
  });

  it('what a base file of that kind needs: qemu-img for qcow2, xz or zstd for compressed bases', () => {
    const every = ['git', 'tar', 'chroot', 'losetup', 'mount', 'sfdisk', 'mksquashfs'];
    expect(toolProblems(['-f', 'b.qcow2', '-u', 'no', '-l', 'no'], every, 'qcow2 disk image')).toEqual([
      'qemu-img is not installed on this machine, and the requested steps run it (apt-get install qemu-utils)',
    ]);
    expect(toolProblems(['-f', 'b.raw.xz', '-u', 'no', '-l', 'no'], every, 'xz-compressed raw disk image')).toEqual([
      'xz is not installed on this machine, and the requested steps run it (apt-get install xz-utils)',
    ]);
  });
});
