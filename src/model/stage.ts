// A stage is `[<branch>@]<playbook>`: one playbook, optionally from its own
// branch of the Ansible repository.
import { VaubanError } from '../errors.js';
import { isImageName } from './image-name.js';

export interface Stage {
  playbook: string;
  /** The stage's own branch, when written `branch@playbook`; else the run's branch applies. */
  branch: string | undefined;
}

/**
 * True when git accepts `name` as a branch name (`git check-ref-format
 * --branch`): checked early, so that a typo is one clear message instead of
 * a failed fetch or build, and a name can never be read as an option.
 */
export function isBranchName(name: string): boolean {
  if (name === '' || name === '@' || name === 'HEAD' || name.startsWith('-')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.includes('//')) return false;
  if (name.includes('..') || name.includes('@{') || /[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

/** Parses one `[branch@]playbook` argument. */
export function parseStage(text: string): Stage {
  const parts = text.split('@');
  if (parts.length > 2) {
    throw new VaubanError(`invalid stage '${text}': expected [<branch>@]<playbook>, with at most one '@'`);
  }
  const [first, second] = parts as [string, string | undefined];
  const branch = second === undefined ? undefined : first;
  const playbook = second === undefined ? first : second;
  if (branch !== undefined) assertBranchName(branch, `stage '${text}'`);
  assertPlaybookName(playbook, text);
  return { playbook, branch };
}

export function formatStage(stage: Stage): string {
  return stage.branch === undefined ? stage.playbook : `${stage.branch}@${stage.playbook}`;
}

export function assertBranchName(branch: string, where: string): void {
  if (!isBranchName(branch)) {
    throw new VaubanError(`invalid branch name '${branch}' in ${where}: not a git branch name (git check-ref-format --branch)`);
  }
}

function assertPlaybookName(playbook: string, stageText: string): void {
  if (playbook === '') throw new VaubanError(`invalid stage '${stageText}': the playbook name is empty`);
  // The playbook becomes part of a Docker image name (<prefix>/<playbook>) and
  // a path inside the Ansible tree: keep it to what both accept.
  if (playbook.startsWith('/') || playbook.split('/').includes('..')) {
    throw new VaubanError(`invalid stage '${stageText}': the playbook must be a path inside the Ansible repository`);
  }
  if (!isImageName(`prefix/${playbook}`)) {
    throw new VaubanError(
      `invalid stage '${stageText}': '${playbook}' cannot be part of a Docker image name (use lowercase letters, digits, '.', '_', '-' and '/')`,
    );
  }
}
