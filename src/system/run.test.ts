import { afterEach, describe, expect, it } from 'vitest';
import { childEnv, run } from './run.js';

describe('the environment of every child (issue 13, item 3)', () => {
  const secrets = {
    REGISTRY_PASSWORD: 'registry-pw-Lm3',
    VAULTED_SSHD_KEYS_KEY: 'vault-pass-Qe7',
    DOT_SECRETS_ENV: 'ZXhwb3J0IFg9eQo=',
    GIT_TOKEN_PASSWORD: 'glpat-token-9x',
    CI_JOB_TOKEN: 'job-token-7y',
  };
  afterEach(() => {
    for (const key of Object.keys(secrets)) delete process.env[key];
  });

  it('keeps only the allow-list, then adds what the call gives', () => {
    const env = childEnv({ GIT_TERMINAL_PROMPT: '0', HOME: undefined }, { PATH: '/usr/bin', HOME: '/root', LC_ALL: 'C', http_proxy: 'http://proxy:3128', ...secrets });
    // PATH with the sbin folders a user's PATH lacks (issue 31: sfdisk and mkfs.vfat for a non-root unit test run).
    expect(env).toEqual({ PATH: '/usr/bin:/usr/local/sbin:/usr/sbin:/sbin', LC_ALL: 'C', http_proxy: 'http://proxy:3128', GIT_TERMINAL_PROMPT: '0' });
    expect(childEnv({}, { PATH: '/sbin:/usr/bin:/usr/sbin' }).PATH).toBe('/sbin:/usr/bin:/usr/sbin:/usr/local/sbin');
  });

  it('run() never hands vauban\'s secrets to a program', async () => {
    Object.assign(process.env, secrets);
    const { stdout } = await run('env', [], { env: { VAUBAN_FOR_THIS_ONE: 'yes' } });
    for (const value of Object.values(secrets)) expect(stdout).not.toContain(value);
    expect(stdout).toMatch(/^VAUBAN_FOR_THIS_ONE=yes$/m);
    expect(stdout).toMatch(/^PATH=/m);
  });
});

describe('a program\'s own umask', () => {
  it('runs it with the umask asked, and still says when it is not installed', async () => {
    const old = process.umask(0o077);
    try {
      expect((await run('sh', ['-c', 'umask'], { umask: 0o022 })).stdout).toBe('0022');
      expect((await run('sh', ['-c', 'umask'])).stdout).toBe('0077');
      await expect(run('vauban-no-such-program', ['x'], { umask: 0o022 })).rejects.toThrow(/vauban-no-such-program is not installed/);
    } finally {
      process.umask(old);
    }
  });
});

describe('a file fed to a program, counted as it goes (issue 31: an upload\'s progress)', () => {
  it('the program gets every byte; the count rises to the file\'s size', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'vauban-run-input-'));
    try {
      const file = path.join(dir, 'payload');
      const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
      writeFileSync(file, bytes);
      const counts: number[] = [];
      const { stdout } = await run('sha256sum', [], { inputFile: file, onInputBytes: (sent) => counts.push(sent) });
      const { createHash } = await import('node:crypto');
      expect(stdout.split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(counts.length).toBeGreaterThan(1);
      expect(counts.at(-1)).toBe(bytes.length);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
