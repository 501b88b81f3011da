// `vauban keygen` (issue 30, B19): makes the project's signing key in vault/,
// encrypted with VAULTED_SSHD_KEYS_KEY, once per fleet repository. From then
// on the images vauban builds and the releases it uploads are signed with
// it, images of the registry are reused only when it signed them, and each
// initramfs built holds its public half and boots only releases it signed.
import path from 'node:path';
import { Command } from 'commander';
import { VaubanError } from '../errors.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';

interface Flags {
  debug: boolean;
}

const keygen: CommandDefinition<Flags, void, 'nothing', true> = {
  name: 'vauban keygen',
  parse: commanderParse(
    () =>
      new Command('vauban keygen')
        .description("Make the project's signing key (vault/vauban-signing-key.asc, encrypted with VAULTED_SSHD_KEYS_KEY): images and releases are signed with it")
        .option('--debug', 'print more', false),
    (program) => program.opts<Flags>(),
  ),
  debug: (flags) => flags.debug,
  settings: true,
  needs: 'nothing',
  work: async ({ io, settings }) => {
    const passphrase = settings.values.VAULTED_SSHD_KEYS_KEY;
    if (passphrase === undefined || passphrase === '') {
      throw new VaubanError('setting VAULTED_SSHD_KEYS_KEY is required to make the project key but is not set', { hint: 'the key is encrypted with the vault passphrase: every run that signs needs it' });
    }
    const { createProjectKey, projectKeyFile } = await import('../vault/project-key.js');
    const { VAULT_DIR } = await import('../model/local-layout.js');
    const vaultDir = path.join(io.cwd, VAULT_DIR);
    const key = await createProjectKey(vaultDir, passphrase);
    const file = path.relative(io.cwd, projectKeyFile(vaultDir));
    io.stdout.write(
      [
        `made the project's signing key ${file} (fingerprint ${key.fingerprint})`,
        `commit it with vault/ (git add ${file}): every clone and CI job signs and checks with it from then on`,
        'images and releases are signed with it; the next initramfs built holds its public half and boots only releases it signed',
        '',
      ].join('\n'),
    );
    return 0;
  },
};

export function mainKeygen(io: CommandIo): Promise<number> {
  return runCommand(keygen, io);
}
