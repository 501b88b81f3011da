// In CI, new vault entries are committed and pushed back to the repository
// the job runs from (A3, A11), so that hosts keep their sshd identity from one
// build to the next: `[CI] Update vault/`. The token never appears in a
// process argument list: git reads it from the environment through a
// credential helper.
import path from 'node:path';
import type { LoadedSettings } from '../config/settings.js';
import { VaubanError } from '../errors.js';
import { credentialHelper, withoutCredentials } from '../system/git.js';
import { run, type RunOptions } from '../system/run.js';

/** Pushes replayed after a rejected one: parallel jobs of one pipeline push at the same moment. */
const PUSH_RETRIES = 5;

export async function commitVault(cwd: string, files: readonly string[], settings: LoadedSettings, runOptions: RunOptions): Promise<void> {
  const values = settings.values;
  const url = withoutCredentials(values.CI_REPOSITORY_URL ?? '');
  const ref = values.CI_COMMIT_REF_NAME ?? '';
  const relative = files.map((file) => path.relative(cwd, file));
  const helper = credentialHelper({ username: values.GIT_TOKEN_USERNAME ?? '', password: values.GIT_TOKEN_PASSWORD ?? '' });
  const env = { ...helper.env, GIT_TERMINAL_PROMPT: '0' };
  const git = (...args: string[]) => run('git', ['-C', cwd, ...helper.args, ...args], { ...runOptions, env });
  // The commit, and its replay by a rebase, are made as the CI user: a runner often has no git identity of its own.
  const identity = ['-c', `user.name=${values.GITLAB_USER_NAME ?? 'vauban'}`, '-c', `user.email=${values.GITLAB_USER_EMAIL ?? 'vauban@localhost'}`];
  try {
    await git('add', '--', ...relative);
    await git(...identity, 'commit', '--quiet', '--signoff', '-m', '[CI] Update vault/', '--', ...relative);
    const push = () => run('git', ['-C', cwd, ...helper.args, 'push', '--quiet', url, `HEAD:${ref}`], { ...runOptions, env, allowFailure: true });
    let pushed = await push();
    // Someone pushed meanwhile (the other shards of a pipeline each push their hosts' entries): replay our commit
    // on top and push again, a few times, after a short random wait so that the jobs stop colliding.
    for (let attempt = 1; pushed.exitCode !== 0 && attempt <= PUSH_RETRIES; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(Math.random() * 800 * attempt)));
      await git(...identity, 'pull', '--quiet', '--rebase', url, ref);
      pushed = await push();
    }
    if (pushed.exitCode !== 0) throw new VaubanError(`git push failed ${PUSH_RETRIES + 1} times: ${pushed.stderr.trim().split('\n').at(-1) ?? ''}`);
  } catch (error) {
    throw new VaubanError(`could not commit and push the new vault entries (${relative.join(', ')}) to ${url} ${ref}`, { cause: error });
  }
}
