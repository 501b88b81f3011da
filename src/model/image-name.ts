// Docker image names as vauban builds them (A4): `<prefix>/raw-iso`,
// `<prefix>/iso`, `<prefix>/<playbook>`, `<prefix>/<host>/<playbook>`, `<name>`.
import { VaubanError } from '../errors.js';

// One path component of a Docker reference (distribution/reference grammar).
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// An optional registry host in front: has a '.' or ':' or is localhost.
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** True when `name` (without a tag) is a valid Docker repository name. */
export function isImageName(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry && !REGISTRY.test(first)) return false;
  return parts.slice(hasRegistry ? 1 : 0).every((part) => COMPONENT.test(part));
}

/** Splits `repo[:tag]`, minding a registry port (`host:5000/repo:tag`). */
export function splitTag(reference: string): { repository: string; tag: string | undefined } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repository: reference, tag: undefined };
}

/** Throws a clear error when `reference` (optionally with a tag) cannot name a Docker image. */
export function assertImageReference(reference: string, what: string): void {
  const { repository, tag } = splitTag(reference);
  if (!isImageName(repository) || (tag !== undefined && !TAG.test(tag))) {
    throw new VaubanError(
      `${what} '${reference}' is not a valid Docker image name (lowercase letters, digits, '.', '_', '-', separated by '/')`,
    );
  }
}

/**
 * Throws a clear error when `name` cannot be the name of a master (-n): it
 * names an image, a folder on the PXE servers and a vault entry, and is
 * pushed as <registry>/vauban/<name>:<date>: a plain repository name, without
 * a tag (master:v1) or a registry in front (registry:5000/x).
 */
export function assertMasterName(name: string, what: string): void {
  if (name.includes(':') || name.includes('@')) {
    throw new VaubanError(`${what} '${name}' must be a plain image name, without a tag (:v1) or a registry (host:port/) in front`, {
      hint: 'vauban adds the registry and the tags itself (REGISTRY_HOSTNAME)',
    });
  }
  if (!isImageName(name)) {
    throw new VaubanError(`${what} '${name}' is not a valid Docker image name (lowercase letters, digits, '.', '_', '-', separated by '/')`);
  }
  // A first component that is a host name (registry.example.com/x, localhost/x) names a registry: a pull of
  // the name would reach it. An OS prefix (debian-12.8/iso: its last label a number) is not one.
  const first = name.split('/')[0] ?? '';
  if (name.includes('/') && (first === 'localhost' || /\.[a-z][a-z0-9-]*$/.test(first))) {
    throw new VaubanError(`${what} '${name}' begins with a registry (${first}/): a master's name is a plain image name`, {
      hint: 'vauban adds the registry and the tags itself (REGISTRY_HOSTNAME)',
    });
  }
}

/** The prefix of a source image: everything up to its first '/' (A2). */
export function prefixOfSourceImage(sourceImage: string): string {
  const { repository } = splitTag(sourceImage);
  const slash = repository.indexOf('/');
  return slash === -1 ? repository : repository.slice(0, slash);
}

export function stageImageName(prefix: string, playbook: string): string {
  return `${prefix}/${playbook}`;
}

/** The two images of a base (A4): as imported (`<prefix>/raw-iso`), then with Dockerfile.base (`<prefix>/iso`). */
export function baseImageNames(prefix: string): { raw: string; base: string } {
  return { raw: `${prefix}/raw-iso`, base: `${prefix}/iso` };
}
