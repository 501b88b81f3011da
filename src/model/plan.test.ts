import { describe, expect, it } from 'vitest';
import type { VaubanOptions } from './options.js';
import { HOST_PLACEHOLDER, OS_NAME_PLACEHOLDER, planRun, plannedArtifact, plannedConffsArchive, type PlannedDelivery, type PlannedUpload } from './plan.js';
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
    noCache: false,
    dryRun: true,
    json: false,
    debug: false,
    ...overrides,
  };
}

function describeUpload(upload: PlannedUpload): string {
  if (upload.local !== undefined) return `${upload.remote} <- ${upload.local}`;
  return upload.generated !== undefined ? `${upload.remote} (generated)` : `${upload.remote} -> ${upload.target ?? ''}`;
}

describe('the plan', () => {
  it('from a base file: every step in the order of A2, images named after the OS', () => {
    const plan = planRun(options({ iso: 'debian-12.raw', name: 'master-12-base', stages: [parseStage('pb_base.yml')] }), { osName: 'debian-12.8' });
    expect(plan.steps.map((step) => step.id)).toEqual(['mount_iso', 'bootstrap_fs', 'chroot_dracut', 'import_iso', 'apply_stages', 'build_rootfs', 'upload']);
    expect(plan.images.map((image) => image.name)).toEqual(['debian-12.8/raw-iso', 'debian-12.8/iso', 'debian-12.8/pb_base.yml', 'master-12-base']);
    expect(plan.artifacts.map((artifact) => artifact.file)).toEqual(['vmlinuz', 'initramfs.img', 'rootfs.tgz', 'sbom.cdx.json']);
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
      { name: 'master-11-base/pb_web.yml', from: 'master-11-base', step: 'apply_stages', role: 'stage', playbook: 'pb_web.yml', branch: 'feature', hostname: 'master-11-web' },
      { name: 'master-11-base/pb_x.yml', from: 'master-11-base/pb_web.yml', step: 'apply_stages', role: 'stage', playbook: 'pb_x.yml', branch: 'master', hostname: 'master-11-web' },
      { name: 'master-11-web', from: 'master-11-base/pb_x.yml', step: 'apply_stages', role: 'master' },
    ]);
  });

  it('conffs: no image per host (one container each), per-host artifacts and uploads', () => {
    const plan = planRun(
      options({ rootfs: false, initramfs: false, conffs: true, sourceImage: 'master-12-web', name: 'master-12-web', ansibleHost: 'web*', stages: [parseStage('pb_web.yml')] }),
      { hosts: ['web01', 'web02'], uploadHosts: ['pxe1', 'pxe2'], uploadDir: '/srv/pxe' },
    );
    expect(plan.steps.map((step) => step.id)).toEqual(['build_conffs', 'upload']);
    expect(plan.images).toEqual([]);
    expect(plan.artifacts.map((artifact) => artifact.file)).toEqual(['overlayfs/overlayfs-web01/conffs-web01.tgz', 'overlayfs/overlayfs-web02/conffs-web02.tgz']);
    expect(plan.conffs).toEqual({ pattern: 'web*', hosts: ['web01', 'web02'], keptAs: 'overlayfs/<time>-overlayfs-<host>/conffs-<host>.tgz' });
    const pxe1 = plan.uploads.filter((upload) => upload.server === 'pxe1').map(describeUpload);
    expect(pxe1).toEqual([
      '/srv/pxe/master-12-web/releases/<release>/conffs-web01.tgz <- overlayfs/overlayfs-web01/conffs-web01.tgz',
      '/srv/pxe/master-12-web/releases/<release>/conffs-web02.tgz <- overlayfs/overlayfs-web02/conffs-web02.tgz',
      '/srv/pxe/master-12-web/releases/<release>/web01.ipxe (generated)',
      '/srv/pxe/master-12-web/releases/<release>/web02.ipxe (generated)',
      '/srv/pxe/master-12-web/releases/<release>/SHA256SUMS (generated)',
      '/srv/pxe/master-12-web/current -> releases/<release>',
      '/srv/pxe/master-12-web/conffs-web01.tgz -> current/conffs-web01.tgz',
      '/srv/pxe/master-12-web/conffs-web02.tgz -> current/conffs-web02.tgz',
      '/srv/pxe/boot/web01.ipxe -> ../master-12-web/current/web01.ipxe',
      '/srv/pxe/boot/by-mac/<mac>.ipxe (generated)',
      '/srv/pxe/boot/web02.ipxe -> ../master-12-web/current/web02.ipxe',
      '/srv/pxe/boot/by-mac/<mac>.ipxe (generated)',
    ]);
    expect(plan.uploads.filter((upload) => upload.server === 'pxe2').map(describeUpload)).toEqual(pxe1);
  });

  it('uploads the A9 layout as a release (B14, B19): the kernel files, the rootfs in the release, the article\'s paths through current, then the versioned kernel files', () => {
    const plan = planRun(options({ iso: 'x.raw', name: 'master-a' }), { uploadHosts: ['pxe1'], uploadDir: '/srv/pxe' });
    expect(plan.uploads.map(describeUpload)).toEqual([
      '/srv/pxe/master-a/releases/<release>/vmlinuz <- vmlinuz',
      '/srv/pxe/master-a/releases/<release>/initramfs.img <- initramfs.img',
      '/srv/pxe/master-a/releases/<release>/rootfs.tgz <- rootfs.tgz',
      '/srv/pxe/master-a/releases/<release>/sbom.cdx.json <- sbom.cdx.json',
      '/srv/pxe/master-a/releases/<release>/<host>.ipxe (generated)',
      '/srv/pxe/master-a/releases/<release>/SHA256SUMS (generated)',
      '/srv/pxe/master-a/current -> releases/<release>',
      '/srv/pxe/master-a/vmlinuz -> current/vmlinuz',
      '/srv/pxe/master-a/initramfs.img -> current/initramfs.img',
      '/srv/pxe/master-a/rootfs.tgz -> current/rootfs.tgz',
      '/srv/pxe/master-a/sbom.cdx.json -> current/sbom.cdx.json',
      '/srv/pxe/linux/vmlinuz-<kver> (generated)',
      '/srv/pxe/linux/initramfs.img-<kver> (generated)',
    ]);
  });

  it('once the run knows the kernel versions (dracut, then the master), the upload names them', () => {
    const plan = planRun(options({ iso: 'x.raw', name: 'master-a' }), { uploadHosts: ['pxe1'], uploadDir: '/srv/pxe', kernelVersion: '6.1.0-41-amd64', rootfsKernelVersion: '6.1.0-40-amd64' });
    const uploads = plan.uploads.map(describeUpload);
    expect(uploads.slice(0, 2)).toEqual(['/srv/pxe/linux/vmlinuz-6.1.0-41-amd64 <- vmlinuz', '/srv/pxe/linux/initramfs.img-6.1.0-41-amd64 <- initramfs.img']);
    expect(uploads).toContain('/srv/pxe/master-a/releases/<release>/vmlinuz -> ../../../linux/vmlinuz-6.1.0-40-amd64');
    expect(uploads.join('\n')).not.toContain('<kver>');
  });

  it('a kernel-only upload is a release too (the rest of the live one kept), then the versioned kernel files', () => {
    const plan = planRun(options({ iso: 'x.raw', name: 'master-a', rootfs: false, conffs: false }), { uploadHosts: ['pxe1'], uploadDir: '/srv/pxe' });
    const uploads = plan.uploads.map(describeUpload);
    expect(uploads.slice(0, 2)).toEqual(['/srv/pxe/master-a/releases/<release>/vmlinuz <- vmlinuz', '/srv/pxe/master-a/releases/<release>/initramfs.img <- initramfs.img']);
    expect(uploads).toContain('/srv/pxe/master-a/current -> releases/<release>');
    expect(uploads.slice(-2)).toEqual(['/srv/pxe/linux/vmlinuz-<kver> (generated)', '/srv/pxe/linux/initramfs.img-<kver> (generated)']);
  });

  it('before Ansible has resolved the pattern, one placeholder host stands for each', () => {
    const plan = planRun(options({ rootfs: false, initramfs: false, upload: false, conffs: true, sourceImage: 'm', ansibleHost: 'web*' }));
    expect(plan.conffs?.hosts).toBeUndefined();
    expect(plan.artifacts.map((artifact) => artifact.file)).toEqual([`overlayfs/overlayfs-${HOST_PLACEHOLDER}/conffs-${HOST_PLACEHOLDER}.tgz`]);
  });

  it('debootstrap base: mount_iso says so', () => {
    const plan = planRun(options({ debianRelease: 'bookworm', upload: false }));
    expect(plan.steps[0]?.description).toMatch(/debootstrap Debian bookworm/);
  });
});

describe("the plan's files and what goes to the servers: what the steps read (issue 26)", () => {
  const members = (delivery: PlannedDelivery | undefined) => delivery?.members.map(({ member, artifact }) => `${member} <- ${artifact.file}`);

  it("each master file with the master's own kept copy; each host's archive; the steps' lookups throw for what the plan does not make", () => {
    const plan = planRun(options({ sourceImage: 'debian-12/iso', initramfs: false, conffs: true, ansibleHost: 'web*', stages: [parseStage('pb.yml')] }), { hosts: ['web01'] });
    expect(plannedArtifact(plan, 'rootfs')).toEqual({ role: 'rootfs', file: 'rootfs.tgz', kept: '.vauban/kept/master-test/rootfs.tgz' });
    expect(plannedConffsArchive(plan, 'web01').file).toBe('overlayfs/overlayfs-web01/conffs-web01.tgz');
    expect(() => plannedArtifact(plan, 'vmlinuz')).toThrow(/no vmlinuz artifact/);
    expect(() => plannedConffsArchive(plan, 'web02')).toThrow(/no conffs archive of web02/);
  });

  it("the kernel is a member when it is the rootfs's, or the rootfs's is not known; else it goes to linux/ only", () => {
    const build = options({ iso: 'x.raw', conffs: true, ansibleHost: 'web01' });
    const same = planRun(build, { hosts: ['web01'], kernelVersion: '6.1.0-26-amd64', rootfsKernelVersion: '6.1.0-26-amd64' }).delivery;
    expect(members(same)).toEqual(['vmlinuz <- vmlinuz', 'initramfs.img <- initramfs.img', 'rootfs.tgz <- rootfs.tgz', 'sbom.cdx.json <- sbom.cdx.json', 'conffs-web01.tgz <- overlayfs/overlayfs-web01/conffs-web01.tgz']);
    expect(same?.linuxCopies).toEqual([{ member: 'vmlinuz', path: 'linux/vmlinuz-6.1.0-26-amd64' }, { member: 'initramfs.img', path: 'linux/initramfs.img-6.1.0-26-amd64' }]);
    expect(same?.linuxOnly).toEqual([]);
    const unknown = planRun(build, { hosts: ['web01'], kernelVersion: '6.1.0-26-amd64' }).delivery;
    expect(unknown?.kernelInRelease).toBe(true);
    const other = planRun(build, { hosts: ['web01'], kernelVersion: '6.1.0-27-amd64', rootfsKernelVersion: '6.1.0-26-amd64' }).delivery;
    expect(other?.kernelInRelease).toBe(false);
    expect(members(other)).toEqual(['rootfs.tgz <- rootfs.tgz', 'sbom.cdx.json <- sbom.cdx.json', 'conffs-web01.tgz <- overlayfs/overlayfs-web01/conffs-web01.tgz']);
    expect(other?.linuxOnly.map(({ artifact, path }) => `${path} <- ${artifact.file}`)).toEqual(['linux/vmlinuz-6.1.0-27-amd64 <- vmlinuz', 'linux/initramfs.img-6.1.0-27-amd64 <- initramfs.img']);
    expect(other?.linuxCopies).toEqual([]);
  });

  it('with --release, the members are a share of that release; with -u no, nothing is delivered', () => {
    const shard = planRun(options({ sourceImage: 'master-test', rootfs: false, initramfs: false, conffs: true, ansibleHost: 'web*', shard: { index: 2, total: 4 }, release: 'r1' }), { hosts: ['web03'] });
    expect(shard.delivery?.share).toEqual({ release: 'r1', label: '2-of-4' });
    expect(members(shard.delivery)).toEqual(['conffs-web03.tgz <- overlayfs/overlayfs-web03/conffs-web03.tgz']);
    expect(planRun(options({ upload: false })).delivery).toBeUndefined();
  });
});

describe('the plan of a shard (issue 29)', () => {
  it("names the shard's hosts, and how many the pattern selects in all; the dry run's text and --json say both", async () => {
    const { planToJson, planToText } = await import('../cli/print-plan.js');
    const sharded = options({ rootfs: false, initramfs: false, upload: false, conffs: true, sourceImage: 'master-11-web', ansibleHost: 'web*', shard: { index: 1, total: 2 } });
    const plan = planRun(sharded, { hosts: ['web01', 'web03'], hostsSelected: 3 });
    expect(plan.conffs).toMatchObject({ hosts: ['web01', 'web03'], shard: { index: 1, total: 2, selected: 3 } });
    expect(plan.steps.map((step) => step.id)).toEqual(['build_conffs']);
    expect(planToText(sharded, plan, [], { entries: [] })).toContain("Conffs hosts: 'web*',!master-* -> web01, web03 (shard 1/2: 2 of the 3 hosts selected)");
    expect(JSON.parse(planToJson(sharded, plan, [], { entries: [] })).plan.conffs.shard).toEqual({ index: 1, total: 2, hosts_selected: 3 });
    expect(planToText(sharded, planRun(sharded, { hosts: [], hostsSelected: 1 }), [], { entries: [] })).toContain('-> none in this shard (shard 1/2: 0 of the 1 hosts selected)');
  });
});
