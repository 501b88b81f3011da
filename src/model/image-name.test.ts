import { describe, expect, it } from 'vitest';
import { assertImageReference, isImageName, prefixOfSourceImage, splitTag, stageImageName } from './image-name.js';

describe('image names', () => {
  it('accepts the names vauban builds', () => {
    for (const name of ['debian-12.8/raw-iso', 'debian-12.8/iso', 'master-12-base', 'master-12-web/web01.example.com/pb_web.yml']) {
      expect(isImageName(name), name).toBe(true);
    }
  });

  it('accepts a registry host in front', () => {
    expect(isImageName('localhost:5000/vauban/master-12-base')).toBe(true);
    expect(isImageName('registry.example.com/vauban/debian-12/iso')).toBe(true);
  });

  it('refuses upper case, empty components and bad separators', () => {
    for (const name of ['Master', 'a//b', 'a/', '-a', 'a--', 'a b']) expect(isImageName(name), name).toBe(false);
  });

  it('splits a tag, minding a registry port', () => {
    expect(splitTag('localhost:5000/vauban/x:latest')).toEqual({ repository: 'localhost:5000/vauban/x', tag: 'latest' });
    expect(splitTag('localhost:5000/vauban/x')).toEqual({ repository: 'localhost:5000/vauban/x', tag: undefined });
  });

  it('takes the prefix up to the first slash (A2)', () => {
    expect(prefixOfSourceImage('debian-11/iso')).toBe('debian-11');
    expect(prefixOfSourceImage('master-11-base')).toBe('master-11-base');
    expect(prefixOfSourceImage('master-11-base:2026-01-01T1200')).toBe('master-11-base');
  });

  it('names stage images after the prefix and the playbook (conffs hosts make none)', () => {
    expect(stageImageName('debian-12.8', 'pb.yml')).toBe('debian-12.8/pb.yml');
  });

  it('names the culprit when refusing', () => {
    expect(() => assertImageReference('Master-Test', '--name')).toThrow(/--name 'Master-Test' is not a valid Docker image name/);
  });
});
