import { describe, expect, it } from 'vitest';
import { VaubanError } from '../errors.js';
import { describeFailure, systemCause } from './fail.js';

function osError(code: string, message: string): NodeJS.ErrnoException {
  const error = new Error(message) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}

describe('how an error ends a command', () => {
  it('says the system\'s reason on the error\'s line, without --debug (issue 31)', () => {
    const cause = osError('EACCES', "EACCES: permission denied, open '/project/.vauban.lock'");
    const failure = describeFailure(new VaubanError('cannot open the lock file /project/.vauban.lock', { cause }), false);
    expect(failure.text.split('\n')[0]).toBe('error: cannot open the lock file /project/.vauban.lock (EACCES: permission denied)');
    expect(failure.exitCode).toBe(1);
  });

  it('does not repeat a reason the message already gives; nothing when no system error is in the chain', () => {
    const cause = osError('ENOSPC', 'ENOSPC: no space left on device, write');
    expect(describeFailure(new VaubanError('write failed: ENOSPC', { cause }), false).text.split('\n')[0]).toBe('error: write failed: ENOSPC');
    expect(systemCause(new VaubanError('plain', { cause: new Error('inner') }))).toBeUndefined();
    expect(systemCause(osError('ENOENT', 'spawn mksquashfs ENOENT'))).toBe('ENOENT');
  });
});
