import { describe, expect, it } from 'vitest';
import { parseSecretsEnv } from './secrets-env.js';

describe('.secrets.env', () => {
  it('reads export KEY=\'value\', KEY=value, double quotes, comments and blank lines', () => {
    const text = [
      '# registry',
      "export REGISTRY_HOSTNAME='registry.example.com'",
      '',
      "export REGISTRY_USERNAME='robot$example'",
      'REGISTRY_PASSWORD="mzo\\"ih\\$gm"',
      'UPLOAD_DIR=/srv/pxe   # trailing comment',
      '  export   ANSIBLE_ROOT_DIR=ansible',
    ].join('\n');
    expect(parseSecretsEnv(text, '.secrets.env')).toEqual({
      REGISTRY_HOSTNAME: 'registry.example.com',
      REGISTRY_USERNAME: 'robot$example',
      REGISTRY_PASSWORD: 'mzo"ih$gm',
      UPLOAD_DIR: '/srv/pxe',
      ANSIBLE_ROOT_DIR: 'ansible',
    });
  });

  it('expands $VAR and ${VAR} outside single quotes, from earlier lines then the environment', () => {
    const text = 'BASE=/srv\nexport UPLOAD_DIR="${BASE}/pxe"\nX=$HOME/x\nY=\'$HOME\'';
    expect(parseSecretsEnv(text, 'f', { HOME: '/root' })).toEqual({ BASE: '/srv', UPLOAD_DIR: '/srv/pxe', X: '/root/x', Y: '$HOME' });
  });

  it('keeps a multi-line quoted value (a hook)', () => {
    const text = "export HOOK_PRE_ANSIBLE='echo one\necho two'\nOTHER=1";
    expect(parseSecretsEnv(text, 'f')).toEqual({ HOOK_PRE_ANSIBLE: 'echo one\necho two', OTHER: '1' });
  });

  it('names the file and line of an unclosed quote', () => {
    expect(() => parseSecretsEnv("A=1\nexport REGISTRY_HOSTNAME='registry.example.com\n", '.secrets.env')).toThrow(
      /\.secrets\.env:2: the single quote is never closed/,
    );
  });

  it('names the file and line of a line that is not an assignment', () => {
    expect(() => parseSecretsEnv('A=1\nsource other.env\n', '.secrets.env')).toThrow(/\.secrets\.env:2: expected KEY=value/);
  });

  it('never shows a malformed line: it may hold a secret (issue 30)', () => {
    let message = '';
    try {
      parseSecretsEnv('A=1\nREGISTRY_PASSWORD hunter2-secret\n', '.secrets.env');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('.secrets.env:2: expected KEY=value or export KEY=\'value\' (the line begins with REGISTRY_PASSWORD); its text is not shown, it may hold a secret');
    expect(message).not.toContain('hunter2');
  });

  it('an unclosed quote at the top of a file of 8,000 lines is named at its line (the file scanned once)', () => {
    const text = `A='never closed\n${Array.from({ length: 8000 }, (_, index) => `export KEY_${index}=value-${index}`).join('\n')}`;
    expect(() => parseSecretsEnv(text, '.secrets.env')).toThrow(/\.secrets\.env:1: the single quote is never closed/);
  });
});
