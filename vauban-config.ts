// vauban's settings and secrets (SPEC A3): the keys of vauban.sh's
// vauban-config.sh, read from the environment and from `.secrets.env` in the
// working directory (a key set there wins), each validated with zod.
//
// This file declares the keys; src/config/settings.ts loads and checks them.
import { z } from 'zod';

const optionalText = z.string().optional();

// host or host:port, no scheme and no path: what `docker login` and image names take.
const registryHost = z
  .string()
  .regex(/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?$/, 'a registry host name such as registry.example.com or localhost:5000, without https:// or a path');

// ssh (git@host:path, ssh://...), http(s)://, git://, file:// or a path.
const gitUrl = z
  .string()
  .min(1, 'must not be empty')
  .refine(
    (value) =>
      /^(ssh|https?|git|file):\/\/\S+$/.test(value) ||
      /^[\w.-]+@[\w.-]+:\S+$/.test(value) ||
      /^(\/|\.{1,2}\/|~\/)?[^\s:]+$/.test(value),
    'a git URL: git@host:path, ssh://..., https://..., file://... or a local path',
  )
  // git would read it as an option (-uhttp, --upload-pack=...).
  .refine((value) => !value.startsWith('-'), 'a git URL, not beginning with -');

const sshDestinations = z
  .string()
  .refine(
    // A destination beginning with '-' would be read by ssh as an option (-oProxyCommand=...).
    (value) => value.trim().split(/\s+/).every((one) => /^(ssh:\/\/)?([\w.-]+@)?[\w.-]+(:[0-9]+)?$/.test(one) && !one.startsWith('-')),
    'space-separated ssh destinations such as pxe1.example.com or deploy@pxe2:2222 (none beginning with -)',
  );

// known_hosts lines of the PXE servers (what `ssh-keyscan` prints), or the path of such a file.
const knownHosts = z.string().refine(
  (value) =>
    /^\/\S+$/.test(value.trim()) ||
    value
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .every((line) => /^(@\S+\s+)?\S+\s+(ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/=]+/.test(line)),
  'known_hosts lines (host key-type base64-key, as ssh-keyscan prints them) or the absolute path of a known_hosts file',
);

const base64PrivateKey = z.string().refine((value) => {
  const decoded = Buffer.from(value.replace(/\s+/g, ''), 'base64').toString('utf8');
  return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(decoded);
}, 'the base64 encoding of an ssh private key (base64 -w0 < id_ed25519)');

export const settingsSchema = z.object({
  // Docker registry: images also go to <REGISTRY_HOSTNAME>/vauban/...; empty = local only.
  REGISTRY_HOSTNAME: registryHost.or(z.literal('')).optional(),
  REGISTRY_USERNAME: optionalText,
  REGISTRY_PASSWORD: optionalText,
  // The Ansible repository and where its inventory / ansible.cfg live inside it.
  ANSIBLE_REPO: gitUrl.optional(),
  // The git server's host keys, for an ssh ANSIBLE_REPO: checked against them alone (else the user's known_hosts).
  ANSIBLE_REPO_KNOWN_HOSTS: knownHosts.optional(),
  ANSIBLE_ROOT_DIR: z
    .string()
    .refine((value) => !value.startsWith('/') && !value.split('/').includes('..'), 'a folder inside the repository, without .. or a leading /')
    .optional(),
  ANSIBLE_EXTRA_ARGS: optionalText,
  // The Debian packages that bring Ansible into the images (Dockerfile.base):
  // `ansible` (the full distribution: ansible-core and the community
  // collections, as vauban.sh's pip install of ansible) by default;
  // e.g. `ansible/bookworm-backports` for a newer one, `ansible-core` alone.
  ANSIBLE_PACKAGES: z
    .string()
    .regex(/^\s*[a-z0-9][a-z0-9+.-]*([=/][\w.+:~-]+)?(\s+[a-z0-9][a-z0-9+.-]*([=/][\w.+:~-]+)?)*\s*$/, 'Debian package names separated by spaces (name, name=version or name/release)')
    .optional(),
  // Shell snippets run right before / after each ansible-playbook.
  HOOK_PRE_ANSIBLE: optionalText,
  HOOK_POST_ANSIBLE: optionalText,
  // PXE servers.
  UPLOAD_HOSTS_LIST: sshDestinations.optional(),
  UPLOAD_DIR: z.string().regex(/^\/\S*$/, 'an absolute path on the PXE servers, such as /srv/pxe').optional(),
  UPLOAD_OWNER: z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/, 'a group name').or(z.literal('')).optional(),
  UPLOAD_CI_SSH_USERNAME: optionalText,
  UPLOAD_CI_SSH_KEY: base64PrivateKey.optional(),
  // The PXE servers' host keys: with UPLOAD_CI_SSH_KEY, uploads check them strictly (required then).
  UPLOAD_KNOWN_HOSTS: knownHosts.optional(),
  // The passphrase of vault/<host>.tar.gpg.
  VAULTED_SSHD_KEYS_KEY: optionalText,
  // CI: commit and push new vault entries.
  GITLAB_USER_NAME: optionalText,
  GITLAB_USER_EMAIL: optionalText,
  GIT_TOKEN_USERNAME: optionalText,
  GIT_TOKEN_PASSWORD: optionalText,
  CI_REPOSITORY_URL: optionalText,
  CI_COMMIT_REF_NAME: optionalText,
  // Beyond vauban.sh: where runs keep their temporary files (default /var/tmp) and their logs,
  // the Debian mirror of --debian-release, squashfs compression and conffs
  // parallelism defaults.
  VAUBAN_WORK_DIR: z.string().regex(/^\/\S*$/, 'an absolute path').optional(),
  // The per-host conffs logs: a folder of root only (default /var/log/vauban).
  VAUBAN_LOG_DIR: z.string().regex(/^\/\S*$/, 'an absolute path').optional(),
  DEBIAN_MIRROR: z.string().regex(/^(https?|file):\/\/\S+$/, 'a mirror URL such as http://deb.debian.org/debian').optional(),
  SQUASHFS_COMPRESSION: z.enum(['xz', 'zstd']).optional(),
  CONFFS_PARALLEL: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'a whole number of 1 or more')
    .optional(),
  // How many <time>-overlayfs-<host> folders of earlier runs are kept per host (default 5): they hold private keys.
  CONFFS_KEEP: z
    .string()
    .regex(/^[0-9]+$/, 'a whole number (0 keeps none)')
    .optional(),
  // Incremental builds (issue 12): an image or artifact whose inputs are unchanged is reused while younger than
  // this many days (default 7; 0 rebuilds everything, as --no-cache), so nightly builds still pick up Debian's updates.
  CACHE_MAX_AGE_DAYS: z
    .string()
    .regex(/^[0-9]+$/, 'a whole number of days (0 rebuilds every time)')
    .optional(),
  // Services during builds (issue 25): `yes` (default) relaxes, for the build only, the directives of a unit's
  // sandbox that a build container cannot give (PrivateUsers=, bind mounts: a user or mount namespace), in a
  // runtime drop-in that never reaches an image or a conffs; `no` runs every unit as written.
  BUILD_RELAX_SANDBOX: z.enum(['yes', 'no']).optional(),
  // Registry reuse (issue 30): an image of the registry is reused only when it carries the project's signature
  // (vault/vauban-signing-key.asc); `yes` says whoever can push there is trusted, and reuses unsigned images too.
  REGISTRY_TRUSTED: z.enum(['yes', 'no']).optional(),
  // How many releases of a master each PXE server keeps (default 3; the live one is always kept): what rollback can go back to.
  RELEASES_KEEP: z
    .string()
    .regex(/^[1-9][0-9]*$/, 'a whole number of 1 or more')
    .optional(),
});

export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

export const SETTING_KEYS = Object.keys(settingsSchema.shape) as SettingKey[];

/** Keys whose values are secrets: never printed, never passed as an argument. */
export const SECRET_KEYS: readonly SettingKey[] = [
  'REGISTRY_PASSWORD',
  'VAULTED_SSHD_KEYS_KEY',
  'UPLOAD_CI_SSH_KEY',
  'GIT_TOKEN_PASSWORD',
];
