// The Ansible repository as git reaches it: ANSIBLE_REPO, the deploy key (-k),
// and the git server's host keys (ANSIBLE_REPO_KNOWN_HOSTS, checked alone and
// strictly). One formula for the run and its dry run.
import type { Settings } from '../../vauban-config.js';
import type { GitRemote } from '../system/git.js';
import { knownHostsFile } from '../system/known-hosts.js';

/** `workDir`: a private folder where known_hosts lines are written for ssh to read. */
export function ansibleRemote(values: Settings, keyFile: string | undefined, workDir: string): GitRemote {
  const known = values.ANSIBLE_REPO_KNOWN_HOSTS;
  return {
    url: values.ANSIBLE_REPO ?? '',
    keyFile,
    ...(known === undefined ? {} : { knownHosts: knownHostsFile(workDir, 'ANSIBLE_REPO_KNOWN_HOSTS', known, 'ansible-repo-known_hosts') }),
  };
}
