import { describe, expect, it } from 'vitest';
import { credentialHelper, credentialsOf, withoutCredentials } from './git.js';

describe('credentials in a git URL (issue 13, item 5)', () => {
  it('finds and decodes user:token@ of an https URL', () => {
    expect(credentialsOf('https://ci-bot:glpat%2Fx%40y@git.example.com/ops/ansible.git')).toEqual({ username: 'ci-bot', password: 'glpat/x@y' });
    expect(credentialsOf('http://token@git.example.com/a.git')).toEqual({ username: 'token', password: '' });
  });

  it('leaves ssh users and plain URLs alone', () => {
    expect(credentialsOf('ssh://git@git.example.com/ops/ansible.git')).toBeUndefined();
    expect(credentialsOf('git@git.example.com:ops/ansible.git')).toBeUndefined();
    expect(credentialsOf('https://git.example.com/ops/ansible.git')).toBeUndefined();
  });

  it('strips them from the URL that is stored or shown', () => {
    expect(withoutCredentials('https://ci-bot:s3cret@git.example.com/ops/ansible.git')).toBe('https://git.example.com/ops/ansible.git');
  });

  it('hands them to git through its environment, never its arguments', () => {
    const helper = credentialHelper({ username: 'ci-bot', password: 's3cret' });
    expect(helper.args.join(' ')).not.toContain('s3cret');
    expect(helper.env).toEqual({ VAUBAN_GIT_USERNAME: 'ci-bot', VAUBAN_GIT_PASSWORD: 's3cret' });
  });
});
