import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('replaces a secret of 4 characters or more wherever it appears', () => {
    expect(redactSecrets('pass=hunter2 and xhunter2x', ['hunter2'])).toBe('pass=*** and x***x');
  });

  it('replaces a shorter secret where it stands alone, not inside words (issue 30)', () => {
    expect(redactSecrets("passphrase 'ab' refused; abc stays; key=ab", ['ab'])).toBe("passphrase '***' refused; abc stays; key=***");
    expect(redactSecrets('x', ['x'])).toBe('***');
    expect(redactSecrets('a.b a+b . .x', ['a+b', '.'])).toBe('a.b *** *** .x');
    expect(redactSecrets('nothing to hide', [''])).toBe('nothing to hide');
  });
});
