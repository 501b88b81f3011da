// The Ansible repository, fetched on the host (never inside an image) with the
// read-only deploy key. The key is passed to ssh as a file path in
// GIT_SSH_COMMAND: its content never reaches a process argument list, an image
// layer or a log. Credentials written in an https URL (user:token@) are taken
// out of it: git gets them from a credential helper reading its environment,
// and no stored remote (the copy's .git/config that goes into images) has them.
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { strictHostKeyOptions } from './known-hosts.js';
import { shellQuote } from './shell-quote.js';
import { run, type RunOptions } from './run.js';

export interface GitRemote {
  url: string;
  /** The deploy key (-k); used for ssh URLs only, when the file exists. */
  keyFile: string | undefined;
  /** A known_hosts file (ANSIBLE_REPO_KNOWN_HOSTS) checked alone, for ssh URLs; else the user's own known hosts. */
  knownHosts?: string;
}

export interface GitCredentials {
  username: string;
  password: string;
}

/**
 * A credential helper that answers from two environment variables: the
 * helper's text names them; their values stay in git's environment.
 */
const CREDENTIAL_HELPER = '!f() { test "$1" = get || exit 0; echo "username=${VAUBAN_GIT_USERNAME}"; echo "password=${VAUBAN_GIT_PASSWORD}"; }; f';

/** git options and environment that hand `credentials` to git through the helper above (and only it). */
export function credentialHelper(credentials: GitCredentials): { args: string[]; env: Record<string, string> } {
  return {
    args: ['-c', 'credential.helper=', '-c', `credential.helper=${CREDENTIAL_HELPER}`],
    env: { VAUBAN_GIT_USERNAME: credentials.username, VAUBAN_GIT_PASSWORD: credentials.password },
  };
}

/** The URL without any user:password@ part (GitLab puts a job token there). */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** An http(s) URL's user:password@ part, decoded; undefined for other URLs or none. */
export function credentialsOf(url: string): GitCredentials | undefined {
  const match = /^https?:\/\/([^/@]*)@/i.exec(url);
  if (match === null) return undefined;
  const [user = '', password = ''] = (match[1] as string).split(/:(.*)/s);
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  return { username: decode(user), password: decode(password) };
}

/** True for git@host:path and ssh:// URLs, which use the deploy key. */
export function isSshUrl(url: string): boolean {
  return url.startsWith('ssh://') || /^[\w.-]+@[\w.-]+:/.test(url);
}

/** The URL git is given: a local path made absolute; an https URL without its credentials. */
function fetchUrl(remote: GitRemote): string {
  if (/^(\/|\.{1,2}\/)/.test(remote.url)) return path.resolve(remote.url);
  return credentialsOf(remote.url) === undefined ? remote.url : withoutCredentials(remote.url);
}

function gitAccess(remote: GitRemote): { args: string[]; env: Record<string, string> } {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' };
  if (isSshUrl(remote.url)) {
    // Host keys are checked, never accepted on first sight (in CI every sight is the first): against
    // ANSIBLE_REPO_KNOWN_HOSTS when set, else the user's known_hosts.
    const ssh = ['ssh', '-o', 'BatchMode=yes', ...(remote.knownHosts === undefined ? ['-o', 'StrictHostKeyChecking=yes'] : strictHostKeyOptions(remote.knownHosts))];
    if (remote.keyFile !== undefined) ssh.push('-o', 'IdentitiesOnly=yes', '-i', path.resolve(remote.keyFile));
    env.GIT_SSH_COMMAND = ssh.map(shellQuote).join(' ');
  }
  const credentials = credentialsOf(remote.url);
  if (credentials === undefined) return { args: [], env };
  const helper = credentialHelper(credentials);
  return { args: helper.args, env: { ...env, ...helper.env } };
}

/** The commit `branch` of the remote points to now (`git ls-remote`), without fetching it; undefined when there is no such branch. */
export async function remoteBranchSha(remote: GitRemote, branch: string, runOptions: RunOptions = {}): Promise<string | undefined> {
  const access = gitAccess(remote);
  const { stdout } = await run('git', [...access.args, 'ls-remote', '--heads', fetchUrl(remote), `refs/heads/${branch}`], { ...runOptions, env: access.env });
  return /^([0-9a-f]{40,64})\s/m.exec(stdout)?.[1];
}

/** An empty bare repository in `dir`, into which branches are fetched one by one. */
export async function initMirror(dir: string, runOptions: RunOptions = {}): Promise<void> {
  await run('git', ['init', '--quiet', '--bare', dir], runOptions);
  // Its housekeeping runs within the fetch, never in a process left behind the run (it may be kept for the next one).
  await run('git', ['--git-dir', dir, 'config', 'gc.autoDetach', 'false'], runOptions);
}

/**
 * Fetches one branch of the remote into the bare repository `mirror` (no
 * other branch, no tag) and returns its commit; a missing branch is a clear error.
 */
export async function fetchBranch(remote: GitRemote, mirror: string, branch: string, runOptions: RunOptions = {}): Promise<string> {
  const access = gitAccess(remote);
  const shown = withoutCredentials(remote.url);
  const result = await run(
    'git',
    ['--git-dir', mirror, ...access.args, 'fetch', '--quiet', '--no-tags', fetchUrl(remote), `+refs/heads/${branch}:refs/heads/${branch}`],
    { ...runOptions, env: access.env, allowFailure: true },
  );
  if (result.exitCode !== 0) {
    if (/couldn't find remote ref/i.test(result.stderr)) throw new VaubanError(`branch '${branch}' does not exist in the Ansible repository`);
    const hostKey = /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(result.stderr);
    const reason = hostKey ? 'host key verification failed' : result.stderr.trim().split('\n').slice(-3).join(' / ');
    throw new VaubanError(`cannot fetch branch '${branch}' of the Ansible repository ${shown}: ${reason}`, {
      hint: hostKey ? "the git server's host key is not a known one: set ANSIBLE_REPO_KNOWN_HOSTS to its known_hosts lines (ssh-keyscan <server>, fingerprint checked) or to a known_hosts file" : 'check ANSIBLE_REPO and the deploy key (-k)',
    });
  }
  const { stdout } = await run('git', ['--git-dir', mirror, 'rev-parse', '--verify', `refs/heads/${branch}^{commit}`], runOptions);
  return stdout.trim();
}

/**
 * A working copy of `branch` alone in `dir`, with its .git (so that playbooks
 * and /imginfo can read the commit) and `origin` pointing at the real URL
 * without credentials, not at a path of this machine.
 */
export async function checkoutBranch(options: { mirror: string; branch: string; dir: string; originUrl: string }, runOptions: RunOptions = {}): Promise<string> {
  // file:// makes git copy only the objects of the branch (a plain path copies the whole object store).
  // umask 022: the copy goes into images as it is.
  await run('git', ['clone', '--quiet', '--single-branch', '--no-tags', '--branch', options.branch, `file://${path.resolve(options.mirror)}`, options.dir], { ...runOptions, umask: 0o022 });
  await run('git', ['-C', options.dir, 'remote', 'set-url', 'origin', withoutCredentials(options.originUrl)], runOptions);
  const { stdout } = await run('git', ['-C', options.dir, 'rev-parse', 'HEAD'], runOptions);
  return stdout.trim();
}

/**
 * Whether a line of a file of the commit matches the extended regular
 * expression `pattern` (`git grep -E` over its tree, in the bare repository:
 * tracked files only, binaries skipped). git grep exits 1 when nothing
 * matches, which is an answer, not a failure.
 */
export async function treeMatches(commit: { mirror: string; sha: string }, pattern: string, runOptions: RunOptions = {}): Promise<boolean> {
  const result = await run('git', ['--git-dir', commit.mirror, 'grep', '-q', '-I', '-E', '-e', pattern, commit.sha, '--'], { ...runOptions, allowFailure: true });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw new VaubanError(`git grep failed in ${commit.mirror} (exit ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
}

/** Whether `file` (relative to the repository's top) is in the tree of the commit, read in the bare repository. */
export async function pathInCommit(commit: { mirror: string; sha: string }, file: string, runOptions: RunOptions = {}): Promise<boolean> {
  const result = await run('git', ['--git-dir', commit.mirror, 'cat-file', '-e', `${commit.sha}:${file}`], { ...runOptions, allowFailure: true });
  return result.exitCode === 0;
}
