import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DELETIONS_MEMBER, listableDeletions } from './archive.js';

describe('the conffs list of deletions (B15)', () => {
  it('lists one path a line; a path holding a line break, or leaving the root, cannot be listed', () => {
    // The member the boot's dracut hook reads (modules.d): the two sides name one file.
    expect(readFileSync(new URL('../../modules.d/89vauban-live/vauban-deletions.sh', import.meta.url), 'utf8')).toContain(`list=/updates/${DELETIONS_MEMBER}\n`);
    expect(listableDeletions(['etc/issue.net', 'etc/a\nb', 'usr/share/doc/x y', '../etc/passwd', ''])).toEqual({
      listed: ['etc/issue.net', 'usr/share/doc/x y'],
      unlisted: ['etc/a\nb', '../etc/passwd', ''],
    });
  });
});
