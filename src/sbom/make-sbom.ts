// The SBOM of a master (B16): a CycloneDX JSON document of the image's Debian
// packages (name, version, architecture, source package, purl
// pkg:deb/debian/...) and of the Ansible content each stage applied
// (playbook, repository, branch, commit). Written with the CycloneDX
// library, so that the format is the specification's.
import { randomUUID } from 'node:crypto';
import type { DebianPackage } from './dpkg-status.js';

export interface SbomStage {
  playbook: string;
  branch: string;
  commit: string;
  hostname?: string;
  date?: string;
}

export interface SbomInput {
  /** The master's name (the image and the upload folder). */
  master: string;
  /** The master image's id, when known. */
  imageId: string | undefined;
  /** The OS name of the image (debian-12.8): the purls' distro. */
  osName: string | undefined;
  packages: readonly DebianPackage[];
  stages: readonly SbomStage[];
  /** The Ansible repository, credentials taken out. */
  repository: string | undefined;
  vaubanVersion: string;
  /** When the document is made (a build's time; fixed in tests). */
  timestamp: Date;
}

/** A URI the schema takes for a reference: scp-like `git@host:path` becomes `ssh://git@host/path`; URLs and paths stay. */
export function repositoryUri(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || url.startsWith('/') || url.startsWith('.')) return url;
  const scp = /^([\w.-]+@)?([\w.-]+):(.*)$/.exec(url);
  return scp === null ? url : `ssh://${scp[1] ?? ''}${scp[2]}/${(scp[3] ?? '').replace(/^\/+/, '')}`;
}

export async function makeSbom(input: SbomInput): Promise<string> {
  const CDX = await import('@cyclonedx/cyclonedx-library');
  const { PackageURL } = await import('packageurl-js');
  const { Models, Enums } = CDX;
  const property = (name: string, value: string) => new Models.Property(name, value);

  const bom = new Models.Bom({ serialNumber: `urn:uuid:${randomUUID()}` });
  bom.metadata.timestamp = input.timestamp;
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'vauban', { version: input.vaubanVersion }));
  const master = new Models.Component(Enums.ComponentType.OperatingSystem, input.master, { bomRef: `master:${input.master}` });
  if (input.imageId !== undefined) master.properties.add(property('vauban:image-id', input.imageId));
  if (input.osName !== undefined) master.properties.add(property('vauban:os-name', input.osName));
  bom.metadata.component = master;

  for (const pkg of input.packages) {
    const qualifiers: Record<string, string> = { arch: pkg.architecture };
    if (input.osName !== undefined) qualifiers.distro = input.osName;
    if (pkg.source.name !== pkg.name || pkg.source.version !== pkg.version) qualifiers.upstream = `${pkg.source.name}@${pkg.source.version}`;
    const purl = new PackageURL('deb', 'debian', pkg.name, pkg.version, qualifiers, undefined).toString();
    const component = new Models.Component(Enums.ComponentType.Library, pkg.name, { version: pkg.version, purl, bomRef: purl });
    component.properties.add(property('debian:architecture', pkg.architecture));
    component.properties.add(property('debian:source-package', pkg.source.name));
    component.properties.add(property('debian:source-version', pkg.source.version));
    bom.components.add(component);
  }

  for (const [index, stage] of input.stages.entries()) {
    const component = new Models.Component(Enums.ComponentType.File, stage.playbook, {
      version: stage.commit,
      bomRef: `stage:${index + 1}:${stage.playbook}`,
      description: `Ansible playbook applied as stage ${index + 1} of ${input.master}`,
    });
    if (input.repository !== undefined) {
      component.externalReferences.add(new Models.ExternalReference(repositoryUri(input.repository), Enums.ExternalReferenceType.VCS, { comment: `branch ${stage.branch}, commit ${stage.commit}` }));
    }
    component.properties.add(property('vauban:stage', String(index + 1)));
    component.properties.add(property('vauban:git-branch', stage.branch));
    component.properties.add(property('vauban:git-sha1', stage.commit));
    if (stage.hostname !== undefined) component.properties.add(property('vauban:hostname', stage.hostname));
    if (stage.date !== undefined) component.properties.add(property('vauban:date', stage.date));
    bom.components.add(component);
  }

  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}
