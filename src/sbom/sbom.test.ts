import { describe, expect, it } from 'vitest';
import { installedPackages } from './dpkg-status.js';
import { makeSbom, repositoryUri } from './make-sbom.js';

const STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: tree
Status: install ok installed
Architecture: amd64
Version: 2.1.0-1

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: libattr1
Status: install ok installed
Architecture: amd64
Source: attr (1:2.5.1-4)
Version: 1:2.5.1-4+b1
`;

describe('the SBOM of a master (issue 15, item 7)', () => {
  it('reads the installed packages of dpkg\'s status, with their source packages', () => {
    expect(installedPackages(STATUS)).toEqual([
      { name: 'libattr1', version: '1:2.5.1-4+b1', architecture: 'amd64', source: { name: 'attr', version: '1:2.5.1-4' } },
      { name: 'libc6', version: '2.36-9+deb12u4', architecture: 'amd64', source: { name: 'glibc', version: '2.36-9+deb12u4' } },
      { name: 'tree', version: '2.1.0-1', architecture: 'amd64', source: { name: 'tree', version: '2.1.0-1' } },
    ]);
  });

  it('writes CycloneDX 1.6 JSON that the official schema validates: packages with purls, stages with their repository and commit', async () => {
    const text = await makeSbom({
      master: 'master-12-web',
      imageId: 'sha256:0123',
      osName: 'debian-12.8',
      packages: installedPackages(STATUS),
      stages: [
        { playbook: 'pb_base.yml', branch: 'master', commit: 'a'.repeat(40), hostname: 'master-12-web', date: '2026-01-02T03:04:05+00:00' },
        { playbook: 'pb_web.yml', branch: 'feature', commit: 'b'.repeat(40) },
      ],
      repository: 'git@git.example.com:ops/ansible.git',
      vaubanVersion: '0.1.0',
      timestamp: new Date('2026-01-02T03:04:05Z'),
    });
    const CDX = await import('@cyclonedx/cyclonedx-library');
    // The JSON schema of CycloneDX 1.6 as the library ships it, strict (no property outside it), with ajv.
    expect(await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(text)).toBeNull();

    const bom = JSON.parse(text);
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1 });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(bom.metadata.component).toMatchObject({ type: 'operating-system', name: 'master-12-web' });
    const libc = bom.components.find((component: { name: string }) => component.name === 'libc6');
    expect(libc).toMatchObject({ type: 'library', version: '2.36-9+deb12u4', purl: 'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12.8&upstream=glibc%402.36-9%2Bdeb12u4' });
    expect(libc.properties).toEqual(expect.arrayContaining([{ name: 'debian:source-package', value: 'glibc' }, { name: 'debian:architecture', value: 'amd64' }]));
    const tree = bom.components.find((component: { name: string }) => component.name === 'tree');
    expect(tree.purl).toBe('pkg:deb/debian/tree@2.1.0-1?arch=amd64&distro=debian-12.8');
    const web = bom.components.find((component: { name: string }) => component.name === 'pb_web.yml');
    expect(web).toMatchObject({ type: 'file', version: 'b'.repeat(40) });
    expect(web.externalReferences).toEqual([{ type: 'vcs', url: 'ssh://git@git.example.com/ops/ansible.git', comment: `branch feature, commit ${'b'.repeat(40)}` }]);
    expect(web.properties).toEqual(expect.arrayContaining([{ name: 'vauban:git-branch', value: 'feature' }, { name: 'vauban:stage', value: '2' }]));
    expect(bom.components.filter((component: { name: string }) => component.name === 'removed-one')).toEqual([]);
  });

  it('turns an scp-like repository into a URI, and leaves URLs and paths', () => {
    expect(repositoryUri('git@git.example.com:ops/ansible.git')).toBe('ssh://git@git.example.com/ops/ansible.git');
    expect(repositoryUri('https://git.example.com/ops/ansible.git')).toBe('https://git.example.com/ops/ansible.git');
    expect(repositoryUri('file:///srv/ansible.git')).toBe('file:///srv/ansible.git');
    expect(repositoryUri('/srv/ansible.git')).toBe('/srv/ansible.git');
  });
});
