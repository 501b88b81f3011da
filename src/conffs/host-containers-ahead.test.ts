import { describe, expect, it } from 'vitest';
import { listedHostNames } from './host-containers-ahead.js';

describe('the hosts -a names one by one (issue 11)', () => {
  it('are its names when it lists names only, master-* left out', () => {
    expect(listedHostNames('web01')).toEqual(['web01']);
    expect(listedHostNames('web01, web02,web01')).toEqual(['web01', 'web02']);
    expect(listedHostNames('web01:db.example.org')).toEqual(['web01', 'db.example.org']);
    expect(listedHostNames('web01,master-11-base')).toEqual(['web01']);
  });

  it('are none when Ansible alone can tell them: wildcards, ranges, exclusions, intersections, regular expressions', () => {
    for (const pattern of ['web*', 'web0?', 'web[1:3]', 'all,!db01', 'web,&staging', '~web\\d+', 'web01,db*', '']) {
      expect(listedHostNames(pattern), pattern).toEqual([]);
    }
  });
});
