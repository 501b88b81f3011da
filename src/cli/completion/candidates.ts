// The values the shell completion asks vauban for while the operator types:
// the masters of config.yml in the working directory, and the branches and
// playbooks of the Ansible repository when a copy of it is at hand (a local
// path or file:// ANSIBLE_REPO, from the environment or .secrets.env). A
// completion never fails loudly: what cannot be read gives no candidate.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../system/run.js';

export const CANDIDATE_KINDS = ['masters', 'branches', 'stages'] as const;
export type CandidateKind = (typeof CANDIDATE_KINDS)[number];

export interface CandidateInput {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The branch given on the command line so far (-b), else vauban's default. */
  branch: string;
  /** The word being completed. */
  current: string;
}

export async function completionCandidates(kind: CandidateKind, input: CandidateInput): Promise<string[]> {
  try {
    if (kind === 'masters') return await masterNames(input.cwd);
    const repo = await localAnsibleRepo(input.cwd, input.env);
    if (repo === undefined) return [];
    if (kind === 'branches') return await branchesOf(repo.dir);
    return await stagesOf(repo, input.branch, input.current);
  } catch {
    return [];
  }
}

/** Every master of config.yml, by key and by name (both find it), plus the bases' image names. */
async function masterNames(cwd: string): Promise<string[]> {
  const file = path.join(cwd, 'config.yml');
  if (!existsSync(file)) return [];
  const { parseMasterTree } = await import('../../config/master-tree.js');
  const tree = await parseMasterTree(readFileSync(file, 'utf8'));
  return unique(tree.all.flatMap((master) => [master.key, master.name]).filter((name) => !tree.roots.some((root) => root.key === name)));
}

interface LocalRepo {
  /** A working copy or a bare repository: git reads both. */
  dir: string;
  rootDir: string | undefined;
}

/** ANSIBLE_REPO when it is a folder of this machine (a path or a file:// URL), with ANSIBLE_ROOT_DIR. */
export async function localAnsibleRepo(cwd: string, env: NodeJS.ProcessEnv): Promise<LocalRepo | undefined> {
  const secretsFile = path.join(cwd, '.secrets.env');
  let fromFile: Record<string, string> = {};
  if (existsSync(secretsFile)) {
    const { parseSecretsEnv } = await import('../../config/secrets-env.js');
    fromFile = parseSecretsEnv(readFileSync(secretsFile, 'utf8'), '.secrets.env', env);
  }
  const url = fromFile.ANSIBLE_REPO || env.ANSIBLE_REPO;
  if (!url) return undefined;
  let dir: string;
  if (url.startsWith('file://')) dir = decodeURIComponent(new URL(url).pathname);
  else if (/^(\/|\.{1,2}\/)/.test(url) || !/^[\w.+-]+:|^[\w.-]+@[\w.-]+:/.test(url)) dir = path.resolve(cwd, url);
  else return undefined;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  return { dir, rootDir: (fromFile.ANSIBLE_ROOT_DIR || env.ANSIBLE_ROOT_DIR || '').replace(/^\/+|\/+$/g, '') || undefined };
}

async function git(repo: string, args: string[]): Promise<string[]> {
  const result = await run('git', ['-C', repo, ...args], { allowFailure: true });
  return result.exitCode === 0 ? result.stdout.split('\n').filter(Boolean) : [];
}

async function branchesOf(repo: string): Promise<string[]> {
  return git(repo, ['for-each-ref', '--format=%(refname:short)', 'refs/heads']);
}

/** Files that sit beside playbooks but are not ones. */
const NOT_PLAYBOOKS = new Set(['requirements.yml', 'requirements.yaml', 'galaxy.yml', 'galaxy.yaml']);

async function playbooksOf(repo: LocalRepo, branch: string): Promise<string[]> {
  const names = await git(repo.dir, ['ls-tree', '--name-only', `${branch}:${repo.rootDir ?? ''}`]);
  return names.filter((name) => /\.ya?ml$/.test(name) && !NOT_PLAYBOOKS.has(name)).sort();
}

/**
 * `<branch>@<playbook>` once the word has an @; otherwise the playbooks of the
 * command line's branch, and each branch followed by @ (to pick a playbook of
 * another branch next).
 */
async function stagesOf(repo: LocalRepo, branch: string, current: string): Promise<string[]> {
  const at = current.indexOf('@');
  if (at !== -1) {
    const stageBranch = current.slice(0, at);
    return (await playbooksOf(repo, stageBranch)).map((playbook) => `${stageBranch}@${playbook}`);
  }
  const [playbooks, branches] = await Promise.all([playbooksOf(repo, branch), branchesOf(repo.dir)]);
  return [...playbooks, ...branches.map((one) => `${one}@`)];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
