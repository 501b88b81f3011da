import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertRequiredSettings, loadSettings, requiredSettingKeys } from './settings.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vauban-settings-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('settings (A3)', () => {
  it('reads the environment', async () => {
    const settings = await loadSettings({ env: { ANSIBLE_REPO: 'file:///srv/ansible.git', UNRELATED: 'x' }, cwd: dir });
    expect(settings.values.ANSIBLE_REPO).toBe('file:///srv/ansible.git');
    expect(settings.sources.ANSIBLE_REPO).toBe('environment');
    expect(settings.values).not.toHaveProperty('UNRELATED');
  });

  it('lets .secrets.env win over the environment, as vauban.sh did', async () => {
    writeFileSync(path.join(dir, '.secrets.env'), "export UPLOAD_DIR='/srv/from-file'\n");
    const settings = await loadSettings({ env: { UPLOAD_DIR: '/srv/from-env', UPLOAD_OWNER: 'pxe' }, cwd: dir });
    expect(settings.values.UPLOAD_DIR).toBe('/srv/from-file');
    expect(settings.sources.UPLOAD_DIR).toBe('.secrets.env');
    expect(settings.values.UPLOAD_OWNER).toBe('pxe');
  });

  it('treats an empty value as unset', async () => {
    const settings = await loadSettings({ env: { REGISTRY_HOSTNAME: '' }, cwd: dir });
    expect(settings.values.REGISTRY_HOSTNAME).toBeUndefined();
  });

  it('names the key and its source when a value is malformed', async () => {
    writeFileSync(path.join(dir, '.secrets.env'), "export REGISTRY_HOSTNAME='https://registry.example.com/'\n");
    await expect(loadSettings({ env: {}, cwd: dir })).rejects.toThrow(/setting REGISTRY_HOSTNAME \(from \.secrets\.env\) is invalid/);
    await expect(loadSettings({ env: { UPLOAD_DIR: 'relative/path' }, cwd: path.join(dir, 'none') })).rejects.toThrow(
      /setting UPLOAD_DIR \(from environment\) is invalid: an absolute path/,
    );
    await expect(loadSettings({ env: { UPLOAD_CI_SSH_KEY: 'not base64 of a key' }, cwd: path.join(dir, 'none') })).rejects.toThrow(
      /UPLOAD_CI_SSH_KEY/,
    );
    await expect(loadSettings({ env: { SQUASHFS_COMPRESSION: 'gzip' }, cwd: path.join(dir, 'none') })).rejects.toThrow(/SQUASHFS_COMPRESSION/);
  });

  it('accepts the git URL forms an operator uses', async () => {
    for (const url of ['git@gitlab.example.com:ops/ansible.git', 'ssh://git@host:2222/ops/ansible.git', 'https://host/ops/ansible.git', 'file:///srv/a.git', '/srv/a', './a']) {
      const settings = await loadSettings({ env: { ANSIBLE_REPO: url }, cwd: dir });
      expect(settings.values.ANSIBLE_REPO, url).toBe(url);
    }
  });

  it('refuses an ANSIBLE_REPO that git would read as an option (issue 30)', async () => {
    for (const url of ['-uhttp', '--upload-pack=touch', '-oProxyCommand=x']) {
      await expect(loadSettings({ env: { ANSIBLE_REPO: url }, cwd: dir }), url).rejects.toThrow(/setting ANSIBLE_REPO .* is invalid: .*a git URL/);
    }
  });

  it('refuses a PXE server that ssh would read as an option', async () => {
    await expect(loadSettings({ env: { UPLOAD_HOSTS_LIST: 'pxe1 -oProxyCommand=touch' }, cwd: dir })).rejects.toThrow(/setting UPLOAD_HOSTS_LIST .* is invalid: .*none beginning with -/);
    await expect(loadSettings({ env: { UPLOAD_HOSTS_LIST: '-oLocalCommand' }, cwd: dir })).rejects.toThrow(/UPLOAD_HOSTS_LIST/);
  });

  it('reads UPLOAD_KNOWN_HOSTS as known_hosts lines or a file path', async () => {
    const line = '[pxe1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx pxe1';
    expect((await loadSettings({ env: { UPLOAD_KNOWN_HOSTS: `# servers\n${line}\npxe2 ecdsa-sha2-nistp256 AAAAE2VjZHNh=\n` }, cwd: dir })).values.UPLOAD_KNOWN_HOSTS).toContain(line);
    expect((await loadSettings({ env: { UPLOAD_KNOWN_HOSTS: '/etc/vauban/known_hosts' }, cwd: dir })).values.UPLOAD_KNOWN_HOSTS).toBe('/etc/vauban/known_hosts');
    await expect(loadSettings({ env: { UPLOAD_KNOWN_HOSTS: 'accept-new' }, cwd: dir })).rejects.toThrow(/setting UPLOAD_KNOWN_HOSTS .* is invalid: known_hosts lines/);
    expect(requiredSettingKeys({ ansible: false, vault: false, upload: true }, true)).toContain('UPLOAD_KNOWN_HOSTS');
  });

  it('collects the secrets to redact', async () => {
    const settings = await loadSettings({ env: { REGISTRY_PASSWORD: 'hunter2-secret', VAULTED_SSHD_KEYS_KEY: 'vault-pass' }, cwd: dir });
    expect(settings.secrets.sort()).toEqual(['hunter2-secret', 'vault-pass']);
  });

  it('counts a token written in ANSIBLE_REPO or CI_REPOSITORY_URL as a secret', async () => {
    const settings = await loadSettings({
      env: { ANSIBLE_REPO: 'https://bot:repo-token-1@git.example.com/a.git', CI_REPOSITORY_URL: 'https://gitlab-ci-token:job-token-2@git.example.com/b.git' },
      cwd: dir,
    });
    expect(settings.secrets.sort()).toEqual(['job-token-2', 'repo-token-1']);
  });

  it('detects CI as GitLab sets it', async () => {
    expect((await loadSettings({ env: { CI: 'true' }, cwd: dir })).ci).toBe(true);
    expect((await loadSettings({ env: {}, cwd: dir })).ci).toBe(false);
  });
});

describe('settings needed by the requested steps', () => {
  it('asks for what each step needs', () => {
    expect(requiredSettingKeys({ ansible: true, vault: true, upload: false }, false)).toEqual(['ANSIBLE_REPO', 'VAULTED_SSHD_KEYS_KEY']);
    expect(requiredSettingKeys({ ansible: false, vault: false, upload: true }, false)).toEqual(['UPLOAD_HOSTS_LIST', 'UPLOAD_DIR']);
    expect(requiredSettingKeys({ ansible: false, vault: false, upload: true }, true)).toContain('UPLOAD_CI_SSH_KEY');
    expect(requiredSettingKeys({ ansible: false, vault: true, upload: false }, true)).toContain('GIT_TOKEN_PASSWORD');
    expect(requiredSettingKeys({ ansible: false, vault: false, upload: false }, true)).toEqual([]);
  });

  it('fails with one message naming the first missing key', async () => {
    const settings = await loadSettings({ env: { ANSIBLE_REPO: '/srv/a' }, cwd: dir });
    expect(() => assertRequiredSettings(settings, { ansible: true, vault: true, upload: true }, 'build')).toThrow(
      /^setting VAULTED_SSHD_KEYS_KEY is required to build but is not set \(also missing: UPLOAD_HOSTS_LIST, UPLOAD_DIR\)$/,
    );
  });
});
