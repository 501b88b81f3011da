// Loads the settings of A3: the environment, then `.secrets.env` over it (a
// key set in the file wins, as in vauban.sh), validated with zod, then checked
// against what the requested steps need, before any work starts.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { SettingKey, Settings } from '../../vauban-config.js';

export type { SettingKey, Settings };

export interface LoadedSettings {
  values: Settings;
  /** Where each key came from, for messages. */
  sources: Partial<Record<SettingKey, 'environment' | '.secrets.env'>>;
  /** True when running in CI (GitLab sets CI=true). */
  ci: boolean;
  /** The values of the secret keys, to redact from every line printed. */
  secrets: string[];
}

export interface LoadSettingsOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Reads and validates the settings; a malformed value is one error naming its key. */
export async function loadSettings({ env, cwd }: LoadSettingsOptions): Promise<LoadedSettings> {
  const { settingsSchema, SETTING_KEYS, SECRET_KEYS } = await import('../../vauban-config.js');
  const { parseSecretsEnv } = await import('./secrets-env.js');
  const secretsFile = path.join(cwd, '.secrets.env');
  const fromFile = existsSync(secretsFile) ? parseSecretsEnv(readFileSync(secretsFile, 'utf8'), '.secrets.env', env) : {};

  const raw: Record<string, string> = {};
  const sources: LoadedSettings['sources'] = {};
  for (const key of SETTING_KEYS) {
    const value = fromFile[key] ?? env[key];
    // An empty value means "not set", as `${KEY:-}` did in vauban.sh.
    if (value === undefined || value === '') continue;
    raw[key] = value;
    sources[key] = fromFile[key] !== undefined ? '.secrets.env' : 'environment';
  }

  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '?') as SettingKey;
    throw new VaubanError(`setting ${key} (from ${sources[key] ?? 'environment'}) is invalid: ${issue?.message ?? 'bad value'}`, {
      hint: 'fix it in .secrets.env or in the environment',
    });
  }
  const values = parsed.data;
  const secrets = SECRET_KEYS.map((key) => values[key]).filter((value): value is string => typeof value === 'string');
  // A token written in a URL (https://user:token@...) is a secret too.
  const { credentialsOf } = await import('../system/git.js');
  for (const url of [values.ANSIBLE_REPO, values.CI_REPOSITORY_URL]) {
    const password = url === undefined ? undefined : credentialsOf(url)?.password;
    if (password) secrets.push(password);
  }
  return { values, sources, ci: isCi(env), secrets };
}

export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI;
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** What the steps of a run need from the settings. */
export interface SettingsNeeds {
  /** Fetching the Ansible repository and running playbooks. */
  ansible: boolean;
  /** Reading or writing the sshd-key vault. */
  vault: boolean;
  upload: boolean;
}

/** The keys the requested steps need, in the order they are checked. */
export function requiredSettingKeys(needs: SettingsNeeds, ci: boolean): SettingKey[] {
  const keys: SettingKey[] = [];
  if (needs.ansible) keys.push('ANSIBLE_REPO');
  if (needs.vault) keys.push('VAULTED_SSHD_KEYS_KEY');
  // In CI, new vault entries are committed and pushed back (A11): without
  // these the generated keys would be lost with the job.
  if (needs.vault && ci) {
    keys.push('GITLAB_USER_NAME', 'GITLAB_USER_EMAIL', 'GIT_TOKEN_USERNAME', 'GIT_TOKEN_PASSWORD', 'CI_REPOSITORY_URL', 'CI_COMMIT_REF_NAME');
  }
  if (needs.upload) keys.push('UPLOAD_HOSTS_LIST', 'UPLOAD_DIR');
  if (needs.upload && ci) keys.push('UPLOAD_CI_SSH_USERNAME', 'UPLOAD_CI_SSH_KEY', 'UPLOAD_KNOWN_HOSTS');
  return keys;
}

/** Throws one clear error naming the first setting the requested steps need but lack. */
export function assertRequiredSettings(settings: LoadedSettings, needs: SettingsNeeds, steps: string): void {
  const missing = requiredSettingKeys(needs, settings.ci).filter((key) => settings.values[key] === undefined);
  if (missing.length > 0) {
    const others = missing.length > 1 ? ` (also missing: ${missing.slice(1).join(', ')})` : '';
    throw new VaubanError(`setting ${missing[0]} is required to ${steps} but is not set${others}`, {
      hint: `set it in the environment or in .secrets.env as: export ${missing[0]}='...'`,
    });
  }
}
