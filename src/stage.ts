// A stage is `[<branch>@]<playbook>`: one playbook, optionally from its own
// branch of the Ansible repository.
import { VaubanError } from './errors.js';
import { isImageName } from './image-name.js';

export interface Stage {
  playbook: string;
  /** The stage's own branch, when written `branch@playbook`; else the run's branch applies. */
  branch: string | undefined;
}

// Git refuses these in branch names (git-check-ref-format), and we refuse them
// early so that a typo is one clear message instead of a failed docker build.
const BAD_BRANCH = /(^[-/.])|(\.\.)|([\s~^:?*[\\\x00-\x1f\x7f])|(@\{)|([/.]$)|(\.lock$)/;

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
  if (branch === '' || BAD_BRANCH.test(branch)) {
    throw new VaubanError(`invalid branch name '${branch}' in ${where}`);
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
