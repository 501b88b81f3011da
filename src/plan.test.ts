import { describe, expect, it } from 'vitest';
import type { VaubanOptions } from './options.js';
import { OS_NAME_PLACEHOLDER, planRun } from './plan.js';
import { parseStage } from './stage.js';

function options(overrides: Partial<VaubanOptions>): VaubanOptions {
  return {
    rootfs: true,
    initramfs: true,
    conffs: false,
    upload: true,
    iso: undefined,
    debianRelease: undefined,
    sourceImage: undefined,
    sshPrivKey: './ansible-ro',
    name: 'master-test',
    branch: 'master',
    ansibleHost: undefined,
    stages: [],
    compression: undefined,
    conffsParallel: undefined,
    dryRun: true,
    json: false,
    debug: false,
    ...overrides,
  };
}

describe('the plan', () => {
  it('from a base file: every step in the order of A2, images named after the OS', () => {
    const plan = planRun(options({ iso: 'debian-12.raw', name: 'master-12-base', stages: [parseStage('pb_base.yml')] }), { osName: 'debian-12.8' });
    expect(plan.steps.map((step) => step.id)).toEqual(['mount_iso', 'bootstrap_fs', 'chroot_dracut', 'import_iso', 'apply_stages', 'build_rootfs', 'upload']);
    expect(plan.images.map((image) => image.name)).toEqual(['debian-12.8/raw-iso', 'debian-12.8/iso', 'debian-12.8/pb_base.yml', 'master-12-base']);
    expect(plan.artifacts).toEqual(['vmlinuz', 'initramfs.img', 'rootfs.tgz']);
  });

  it('before the base is read, the prefix is a placeholder', () => {
    const plan = planRun(options({ iso: 'x.raw', initramfs: false }));
    expect(plan.prefix).toBe(OS_NAME_PLACEHOLDER);
    expect(plan.source).toBe(`${OS_NAME_PLACEHOLDER}/iso`);
  });

  it('from a source image: prefix up to the first /, no base steps', () => {
    const plan = planRun(
      options({ sourceImage: 'master-11-base', initramfs: false, upload: false, name: 'master-11-web', stages: [parseStage('feature@pb_web.yml'), parseStage('pb_x.yml')] }),
    );
    expect(plan.steps.map((step) => step.id)).toEqual(['apply_stages', 'build_rootfs']);
    expect(plan.images).toEqual([
      { name: 'master-11-base/pb_web.yml', from: 'master-11-base', step: 'apply_stages', playbook: 'pb_web.yml', branch: 'feature', hostname: 'master-11-web' },
      { name: 'master-11-base/pb_x.yml', from: 'master-11-base/pb_web.yml', step: 'apply_stages', playbook: 'pb_x.yml', branch: 'master', hostname: 'master-11-web' },
      { name: 'master-11-web', from: 'master-11-base/pb_x.yml', step: 'apply_stages' },
    ]);
  });

  it('conffs: no image per host (one container each), per-host artifacts and uploads', () => {
    const plan = planRun(
      options({ rootfs: false, initramfs: false, conffs: true, sourceImage: 'master-12-web', name: 'master-12-web', ansibleHost: 'web*', stages: [parseStage('pb_web.yml')] }),
      { hosts: ['web01', 'web02'], uploadHosts: ['pxe1', 'pxe2'], uploadDir: '/srv/pxe' },
    );
    expect(plan.steps.map((step) => step.id)).toEqual(['build_conffs', 'upload']);
    expect(plan.images).toEqual([]);
    expect(plan.artifacts).toEqual(['overlayfs/overlayfs-web01/conffs-web01.tgz', 'overlayfs/overlayfs-web02/conffs-web02.tgz']);
    expect(plan.uploads.map((upload) => `${upload.server}:${upload.remote}`)).toEqual([
      'pxe1:/srv/pxe/master-12-web/conffs-web01.tgz',
      'pxe1:/srv/pxe/master-12-web/conffs-web02.tgz',
      'pxe2:/srv/pxe/master-12-web/conffs-web01.tgz',
      'pxe2:/srv/pxe/master-12-web/conffs-web02.tgz',
    ]);
  });

  it('uploads the A9 layout: versioned kernel files, the rootfs and its symlinks', () => {
    const plan = planRun(options({ iso: 'x.raw', name: 'master-a' }), { uploadHosts: ['pxe1'], uploadDir: '/srv/pxe' });
    expect(plan.uploads.map((upload) => (upload.local ? `${upload.remote} <- ${upload.local}` : `${upload.remote} -> ${upload.target}`))).toEqual([
      '/srv/pxe/linux/vmlinuz-<kver> <- vmlinuz',
      '/srv/pxe/linux/initramfs.img-<kver> <- initramfs.img',
      '/srv/pxe/master-a/rootfs.tgz <- rootfs.tgz',
      '/srv/pxe/master-a/vmlinuz -> ../linux/vmlinuz-<kver>',
      '/srv/pxe/master-a/initramfs.img -> ../linux/initramfs.img-<kver>',
    ]);
  });

  it('debootstrap base: mount_iso says so', () => {
    const plan = planRun(options({ debianRelease: 'bookworm', upload: false }));
    expect(plan.steps[0]?.description).toMatch(/debootstrap Debian bookworm/);
  });
});
