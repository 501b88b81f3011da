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
});
