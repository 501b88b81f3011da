import { describe, expect, it } from 'vitest';
import { DELETIONS_MEMBER, listableDeletions } from './conffs-archive.js';

describe('the conffs list of deletions (B15)', () => {
  it('lists one path a line; a path holding a line break, or leaving the root, cannot be listed', () => {
    expect(DELETIONS_MEMBER).toBe('.vauban-conffs/deleted');
    expect(listableDeletions(['etc/issue.net', 'etc/a\nb', 'usr/share/doc/x y', '../etc/passwd', ''])).toEqual({
      listed: ['etc/issue.net', 'usr/share/doc/x y'],
      unlisted: ['etc/a\nb', '../etc/passwd', ''],
    });
  });
});
