// The SBOM of a master (B16), made in build_rootfs from the tree about to be
// packed: its Debian packages (dpkg's database, read as text) and the Ansible
// stages its /imginfo lists (every stage since the base). Written beside
// rootfs.tgz as sbom.cdx.json; its sha256 goes into the rootfs' /imginfo, so
// that a booted host names the document that describes it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CleanupStack } from '../system/cleanup.js';
import { readOsName } from '../base/os-name.js';
import { installedPackages } from './dpkg-status.js';
import { makeSbom, type SbomStage } from './make-sbom.js';
import { credentialsOf, withoutCredentials } from '../system/git.js';
import { temporaryFileFor } from '../system/temporary-file.js';
import { readFileInTree, writeFileInTree } from '../system/tree-path.js';

/** The stages /imginfo lists (YAML written by Dockerfile.base and stage.sh); none when it cannot be read. */
async function imginfoStages(text: string | undefined): Promise<SbomStage[]> {
  if (text === undefined) return [];
  const yaml = await import('js-yaml');
  let document: unknown;
  try {
    document = yaml.load(text);
  } catch {
    return [];
  }
  const stages = (document as { stages?: unknown } | null)?.stages;
  if (!Array.isArray(stages)) return [];
  return stages.flatMap((stage: Record<string, unknown>) => {
    const text = (key: string) => (typeof stage?.[key] === 'string' ? (stage[key] as string) : undefined);
    const playbook = text('playbook');
    const commit = text('git-sha1');
    if (playbook === undefined || commit === undefined) return [];
    return [{ playbook, commit, branch: text('git-branch') ?? '', hostname: text('hostname'), date: text('date') }];
  });
}

export interface MasterSbomInput {
  master: string;
  /** The Docker ID of the master's image, when known. */
  imageId: string | undefined;
  /** ANSIBLE_REPO: named in the SBOM without its credentials. */
  repository: string | undefined;
  /** Where vauban is installed: its package.json gives the version that made the SBOM. */
  installDir: string;
  startedAt: Date;
  /** The run's id and cleanup: the file is written under a temporary name, then renamed. */
  runId: string;
  cleanup: CleanupStack;
}

/** Writes the SBOM of the tree to `file` (sbom.cdx.json, beside rootfs.tgz) and records its sha256 in the tree's /imginfo; returns `file`. */
export async function writeMasterSbom(tree: string, file: string, input: MasterSbomInput): Promise<string> {
  let osName: string | undefined;
  try {
    osName = readOsName(tree);
  } catch {
    osName = undefined;
  }
  const imginfo = readFileInTree(tree, 'imginfo')?.toString('utf8');
  const { repository } = input;
  const { version } = JSON.parse(readFileSync(path.join(input.installDir, 'package.json'), 'utf8')) as { version: string };
  const text = await makeSbom({
    master: input.master,
    imageId: input.imageId,
    osName,
    packages: installedPackages(readFileInTree(tree, 'var/lib/dpkg/status')?.toString('utf8') ?? ''),
    stages: await imginfoStages(imginfo),
    // A token in an https URL is taken out; an ssh user (git@) is part of the address, no secret.
    repository: repository === undefined || credentialsOf(repository) === undefined ? repository : withoutCredentials(repository),
    vaubanVersion: version,
    timestamp: input.startedAt,
  });
  const temporary = temporaryFileFor(file, input.runId, input.cleanup);
  writeFileSync(temporary.path, text);
  await temporary.commit();
  const sha256 = createHash('sha256').update(text).digest('hex');
  // Appended as a key of its own: the stages list above it stays as it was.
  writeFileInTree(tree, 'imginfo', `${imginfo ?? ''}${imginfo === undefined || imginfo.endsWith('\n') ? '' : '\n'}sbom-sha256: "${sha256}"\n`, { mode: 0o644 });
  return file;
}
