// How vauban reaches the PXE servers over ssh (A3): the operator's ssh config
// and known_hosts, or in CI the UPLOAD_CI_SSH_* user and key with the servers'
// host keys checked strictly against UPLOAD_KNOWN_HOSTS (conffs carry private
// host keys: never to a server accepted blindly).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../vauban-config.js';
import { VaubanError } from '../errors.js';
import { knownHostsFile, strictHostKeyOptions } from '../system/known-hosts.js';
import type { SshTarget } from '../system/ssh.js';

/** The extra ssh options of the settings; key files are written to `workDir` (private), never passed as text. */
export function pxeSshOptions(values: Settings, workDir: string): string[] {
  const options: string[] = [];
  if (values.UPLOAD_CI_SSH_KEY !== undefined) {
    if (values.UPLOAD_KNOWN_HOSTS === undefined) {
      throw new VaubanError('setting UPLOAD_KNOWN_HOSTS is required with UPLOAD_CI_SSH_KEY: the PXE servers\' host keys are checked, never accepted blindly', {
        hint: "set it to the servers' known_hosts lines (ssh-keyscan <server>) or to the path of a known_hosts file",
      });
    }
    const keyFile = path.join(workDir, 'upload-key');
    if (!existsSync(keyFile)) writeFileSync(keyFile, Buffer.from(values.UPLOAD_CI_SSH_KEY.replace(/\s+/g, ''), 'base64'), { mode: 0o600 });
    options.push('-i', keyFile, '-o', 'IdentitiesOnly=yes');
    if (values.UPLOAD_CI_SSH_USERNAME !== undefined) options.push('-o', `User=${values.UPLOAD_CI_SSH_USERNAME}`);
  }
  if (values.UPLOAD_KNOWN_HOSTS !== undefined) {
    options.push(...strictHostKeyOptions(knownHostsFile(workDir, 'UPLOAD_KNOWN_HOSTS', values.UPLOAD_KNOWN_HOSTS, 'upload-known_hosts')));
  }
  return options;
}

/** Every PXE server of UPLOAD_HOSTS_LIST, with those options. */
export function pxeTargets(values: Settings, workDir: string): SshTarget[] {
  const options = pxeSshOptions(values, workDir);
  return (values.UPLOAD_HOSTS_LIST ?? '')
    .trim()
    .split(/\s+/)
    .filter((destination) => destination !== '')
    .map((destination) => ({ destination, options }));
}
