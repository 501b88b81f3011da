import { describe, expect, it } from 'vitest';
import { formatStage, parseStage } from './stage.js';

describe('parseStage', () => {
  it('reads a bare playbook', () => {
    expect(parseStage('pb_base.yml')).toEqual({ playbook: 'pb_base.yml', branch: undefined });
  });

  it('reads branch@playbook, with slashes in the branch', () => {
    expect(parseStage('bugfix/fix-sshd@playbook_authentication.yml')).toEqual({
      playbook: 'playbook_authentication.yml',
      branch: 'bugfix/fix-sshd',
    });
  });

  it('refuses more than one @', () => {
    expect(() => parseStage('a@b@c')).toThrow(/invalid stage 'a@b@c'.*at most one '@'/);
  });

  it('refuses an empty playbook or branch', () => {
    expect(() => parseStage('feature@')).toThrow(/playbook name is empty/);
    expect(() => parseStage('@pb.yml')).toThrow(/invalid branch name ''/);
  });

  it('refuses a playbook that cannot be part of an image name or escapes the repository', () => {
    expect(() => parseStage('PB.yml')).toThrow(/Docker image name/);
    expect(() => parseStage('../pb.yml')).toThrow(/inside the Ansible repository/);
    expect(() => parseStage('/etc/pb.yml')).toThrow(/inside the Ansible repository/);
  });

  it('refuses branch names git would refuse', () => {
    expect(() => parseStage('a..b@pb.yml')).toThrow(/invalid branch name/);
    expect(() => parseStage('a b@pb.yml')).toThrow(/invalid branch name/);
  });

  it('formats back to what was written', () => {
    expect(formatStage(parseStage('x/y@pb.yml'))).toBe('x/y@pb.yml');
    expect(formatStage(parseStage('pb.yml'))).toBe('pb.yml');
  });
});
