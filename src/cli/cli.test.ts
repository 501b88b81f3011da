// The commands end to end through their main(), with captured streams: the
// dry-run plan and vauban-ci's debug output need neither root nor Docker.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandIo } from './io.js';
import { main } from './vauban.js';
import { mainCi } from './vauban-ci.js';

function capture(): NodeJS.WriteStream & { text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let text = '';
  (stream as unknown as PassThrough).on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.text = () => text;
  return stream;
}

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'vauban-cli-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

async function run(command: typeof main, argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io: CommandIo & { stdout: ReturnType<typeof capture>; stderr: ReturnType<typeof capture> } = {
    argv,
    env,
    cwd,
    stdout: capture(),
    stderr: capture(),
  };
  const code = await command(io);
  return { code, out: io.stdout.text(), err: io.stderr.text() };
}

const SETTINGS = { ANSIBLE_REPO: 'file:///srv/ansible.git', VAULTED_SSHD_KEYS_KEY: 'pass-phrase', UPLOAD_HOSTS_LIST: 'pxe1 pxe2', UPLOAD_DIR: '/srv/pxe' };

describe('--json answers usage errors too, and says which vauban wrote it (issue 31)', () => {
  it('a refused flag: the error on stderr, a document on stdout with the reason and exit 1', async () => {
    const result = await run(main, ['--json', '-r', 'maybe'], SETTINGS);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/error: option '-r, --rootfs <yes\|no>' argument 'maybe' is invalid/);
    const document = JSON.parse(result.out) as { vauban: string; schema_version: number; result: Record<string, unknown> };
    expect(document.vauban).toMatch(/^\d+\.\d+\.\d+/);
    expect(document.schema_version).toBe(1);
    expect(document.result).toEqual({ ok: false, exit_code: 1, exit_reason: "option '-r, --rootfs <yes|no>' argument 'maybe' is invalid. expected yes or no" });
  });
});

describe('vauban --dry-run (B4)', () => {
  it('prints the plan as text', async () => {
    const result = await run(main, ['-n', 'master-12-web', '-s', 'master-12-base', '-i', 'no', '-a', 'web*', 'pb_web.yml', '--dry-run'], SETTINGS);
    expect(result.code).toBe(0);
    expect(result.out).toContain('1. apply_stages');
    expect(result.out).toContain('master-12-base/pb_web.yml  <- master-12-base + pb_web.yml, branch master, as master-12-web');
    expect(result.out).not.toContain('<host>/pb_web.yml');
    expect(result.out).toContain("Conffs hosts: 'web*',!master-*");
    expect(result.out).toContain('pxe2:/srv/pxe/master-12-web/releases/<release>/rootfs.tgz  <- rootfs.tgz');
    expect(result.out).toContain('pxe2:/srv/pxe/master-12-web/current -> releases/<release>');
    expect(result.out).toContain('pxe2:/srv/pxe/master-12-web/rootfs.tgz -> current/rootfs.tgz');
    expect(result.out).toContain('pxe2:/srv/pxe/boot/<host>.ipxe -> ../master-12-web/current/<host>.ipxe');
    expect(result.out).toMatch(/pxe2:\/srv\/pxe\/master-12-web\/releases\/<release>\/<host>\.ipxe  \(generated: iPXE entry of <host>/);
  });

  it('prints the plan and the resolved options as JSON', async () => {
    // The start of a GPT disk: the base file is read from its content, and must be of an accepted kind.
    const disk = Buffer.alloc(64 * 1024);
    disk.write('EFI PART', 512, 'latin1');
    writeFileSync(path.join(cwd, 'debian-12.raw'), disk);
    const result = await run(main, ['-f', 'debian-12.raw', '-n', 'master-12-base', '-u', 'no', 'dev@pb_base.yml', '--dry-run', '--json'], SETTINGS);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.out);
    expect(document.options).toMatchObject({
      rootfs: true,
      initramfs: true,
      conffs: false,
      upload: false,
      iso: 'debian-12.raw',
      source_image: null,
      ssh_priv_key: './ansible-ro',
      name: 'master-12-base',
      branch: 'master',
      ansible_host: null,
      stages: [{ stage: 'dev@pb_base.yml', playbook: 'pb_base.yml', branch: 'dev' }],
    });
    expect(document.plan.steps).toEqual(['mount_iso', 'bootstrap_fs', 'chroot_dracut', 'import_iso', 'apply_stages', 'build_rootfs']);
    expect(document.plan.images.map((image: { name: string }) => image.name)).toEqual([
      '<os-name>/raw-iso',
      '<os-name>/iso',
      '<os-name>/pb_base.yml',
      'master-12-base',
    ]);
    expect(document.plan.artifacts).toEqual(['vmlinuz', 'initramfs.img', 'rootfs.tgz', 'sbom.cdx.json']);
  });

  it('lists missing settings as problems and exits 1', async () => {
    const result = await run(main, ['-s', 'x/iso', '-i', 'no', '--dry-run', '--json'], {});
    expect(result.code).toBe(1);
    expect(JSON.parse(result.out).problems).toEqual([
      'setting ANSIBLE_REPO is required by the requested steps but is not set',
      'setting VAULTED_SSHD_KEYS_KEY is required by the requested steps but is not set',
      'setting UPLOAD_HOSTS_LIST is required by the requested steps but is not set',
      'setting UPLOAD_DIR is required by the requested steps but is not set',
    ]);
  });
});

describe('vauban: the --iso file is read before any work (no root needed)', () => {
  it('--dry-run says what the base file is, read from its content', async () => {
    const disk = Buffer.alloc(64 * 1024);
    disk.write('EFI PART', 512, 'latin1');
    writeFileSync(path.join(cwd, 'base.iso'), disk);
    const result = await run(main, ['-f', 'base.iso', '-n', 'master-12-base', '-u', 'no', 'pb_base.yml', '--dry-run'], SETTINGS);
    expect(result.code).toBe(0);
    expect(result.out).toContain('mount base.iso (raw disk image) read-only under a writable overlay');
  });

  it('a file of no accepted kind: one error listing the kinds, exit 1; a problem of the --dry-run plan', async () => {
    writeFileSync(path.join(cwd, 'notes.raw'), 'not a disk\n'.repeat(5000));
    const result = await run(main, ['-f', 'notes.raw', '-n', 'master-12-base', '-u', 'no', '-l', 'no', 'pb_base.yml'], SETTINGS);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^error: \S+notes\.raw is not a base vauban can use: its content is none of the accepted kinds\nhint: accepted: a raw disk image/);
    const dry = await run(main, ['-f', 'notes.raw', '-n', 'master-12-base', '-u', 'no', 'pb_base.yml', '--dry-run', '--json'], SETTINGS);
    expect(dry.code).toBe(1);
    expect(JSON.parse(dry.out).problems).toEqual([expect.stringMatching(/notes\.raw is not a base vauban can use/)]);
  });
});

describe('vauban: settings are checked before any work', () => {
  it('a missing setting is one clear message naming the key, exit 1', async () => {
    const result = await run(main, ['-s', 'x/iso', '-i', 'no', '-u', 'no'], { ANSIBLE_REPO: '/srv/a' });
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/error: setting VAULTED_SSHD_KEYS_KEY is required by the requested steps but is not set/);
  });

  it('a malformed .secrets.env value is one clear message naming the key, exit 1', async () => {
    writeFileSync(path.join(cwd, '.secrets.env'), "export UPLOAD_DIR='srv'\n");
    const result = await run(main, ['-s', 'x/iso', '-i', 'no', '-u', 'no'], {});
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/error: setting UPLOAD_DIR \(from \.secrets\.env\) is invalid/);
  });

  it('an invalid image name is refused before anything', async () => {
    const result = await run(main, ['-s', 'x/iso', '-i', 'no', '-u', 'no', '-n', 'Master'], SETTINGS);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/--name 'Master' is not a valid Docker image name/);
  });
});

const CONFIG = `
"debian-12-generic-amd64.raw":
  name: debian-12/iso
  master-12-base:
    stages: [pb_base.yml]
    master-12-web:
      stages: [pb_web.yml]
      conffs: "web*,!web03"
`;

describe('vauban-ci', () => {
  beforeEach(() => writeFileSync(path.join(cwd, 'config.yml'), CONFIG));

  it('with debug, prints each invocation shell-quoted, one per line, from environment variables', async () => {
    const result = await run(mainCi, [], { name: 'master-12-web', stage: 'conffs', build_parents: '1', debug: 'true' });
    expect(result.code).toBe(0);
    expect(result.out.trimEnd().split('\n')).toEqual([
      'vauban --source-image master-12-base --name master-12-web --rootfs yes --initramfs no --conffs no --upload yes --branch master pb_web.yml',
      "vauban --source-image master-12-web --name master-12-web --ansible-host 'web*,!web03' --rootfs no --initramfs no --conffs yes --upload yes --branch master pb_base.yml pb_web.yml",
    ]);
  });

  it('takes flags over the environment, and CI_JOB_STAGE when stage is unset', async () => {
    const fromJob = await run(mainCi, ['--debug'], { name: 'master-12-base', CI_JOB_STAGE: 'rootfs' });
    expect(fromJob.out).toContain('--name master-12-base --rootfs yes');
    const flags = await run(mainCi, ['--name', 'master-12-web', '--stage', 'initramfs', '--debug'], { name: 'master-12-base', stage: 'rootfs' });
    expect(flags.out).toContain('--name master-12-web --rootfs no --initramfs yes');
  });

  it('an unknown master, an unknown stage, a malformed config.yml: one message, exit 1', async () => {
    expect((await run(mainCi, ['--debug'], { name: 'nope', stage: 'all' })).err).toMatch(/unknown master 'nope'/);
    expect((await run(mainCi, ['--debug'], { name: 'master-12-web', stage: 'kernel' })).err).toMatch(/unknown stage 'kernel'/);
    writeFileSync(path.join(cwd, 'config.yml'), '"x.raw":\n  m:\n    staged: [a.yml]\n');
    const bad = await run(mainCi, ['--debug'], { name: 'm', stage: 'rootfs' });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/master 'm': unknown key 'staged'/);
  });
});
