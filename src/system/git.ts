// The Ansible repository, fetched on the host (never inside an image) with the
// read-only deploy key. The key is passed to ssh as a file path in
// GIT_SSH_COMMAND: its content never reaches a process argument list, an image
// layer or a log.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { shellQuote } from '../shell-quote.js';
import { run, type RunOptions } from './run.js';

export interface GitRemote {
  url: string;
  /** The deploy key (-k); used for ssh URLs only, when the file exists. */
  keyFile: string | undefined;
}

function isSshUrl(url: string): boolean {
  return url.startsWith('ssh://') || /^[\w.-]+@[\w.-]+:/.test(url);
}

function gitEnv(remote: GitRemote): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' };
  if (isSshUrl(remote.url)) {
    const ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new'];
    if (remote.keyFile !== undefined) ssh.push('-o', 'IdentitiesOnly=yes', '-i', path.resolve(remote.keyFile));
    env.GIT_SSH_COMMAND = ssh.map(shellQuote).join(' ');
  }
  return env;
}

/** Checks the deploy key before any work: an ssh URL without a readable key fails now, not mid-build. */
export function assertDeployKey(remote: GitRemote): void {
  if (isSshUrl(remote.url) && remote.keyFile !== undefined && !existsSync(remote.keyFile)) {
    throw new VaubanError(`the deploy key ${remote.keyFile} (-k, --ssh-priv-key) does not exist, and ANSIBLE_REPO is an ssh URL`, {
      hint: 'give the read-only deploy key of the Ansible repository with -k <path>',
    });
  }
}

/** A bare copy of the repository with every branch, in `dir`. */
export async function fetchMirror(remote: GitRemote, dir: string, runOptions: RunOptions = {}): Promise<void> {
  const url = /^(\/|\.{1,2}\/)/.test(remote.url) ? path.resolve(remote.url) : remote.url;
  try {
    await run('git', ['clone', '--quiet', '--mirror', url, dir], { ...runOptions, env: gitEnv(remote) });
  } catch (error) {
    throw new VaubanError(`cannot fetch the Ansible repository ${remote.url}`, { cause: error, hint: 'check ANSIBLE_REPO and the deploy key (-k)' });
  }
}

/** Resolves a branch of the mirror to its commit; a missing branch is a clear error. */
export async function resolveBranch(mirror: string, branch: string, runOptions: RunOptions = {}): Promise<string> {
  const result = await run('git', ['--git-dir', mirror, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], {
    ...runOptions,
    allowFailure: true,
  });
  if (result.exitCode !== 0) throw new VaubanError(`branch '${branch}' does not exist in the Ansible repository`);
  return result.stdout.trim();
}

/**
 * A working copy of `branch` in `dir`, with its .git (so that playbooks and
 * /imginfo can read the commit) and `origin` pointing at the real URL, not at
 * a path of this machine.
 */
export async function checkoutBranch(options: { mirror: string; branch: string; dir: string; originUrl: string }, runOptions: RunOptions = {}): Promise<string> {
  await run('git', ['clone', '--quiet', '--no-hardlinks', '--branch', options.branch, options.mirror, options.dir], runOptions);
  await run('git', ['-C', options.dir, 'remote', 'set-url', 'origin', options.originUrl], runOptions);
  const { stdout } = await run('git', ['-C', options.dir, 'rev-parse', 'HEAD'], runOptions);
  return stdout.trim();
}
