import { describe, expect, it } from 'vitest';
import { isKernelVersion } from './kernel-version.js';
import { compareVersions } from './kernel-image.js';

describe('kernel versions read from an image (they name files on the PXE servers)', () => {
  it('takes what uname -r gives', () => {
    for (const good of ['6.1.0-28-amd64', '5.10.0-33-cloud-amd64', '4.19.0-27-amd64', '6.12.9+bpo-amd64', '6.1.0-rc1~exp1']) expect(isKernelVersion(good), good).toBe(true);
  });

  it('refuses anything that could walk a path or is no version (issue 30)', () => {
    for (const bad of ['../../etc', '6.1/../../x', '6.1.0 x', '6.1..0', 'linux', '6', '', `6.1.${'0'.repeat(80)}`, '6.1.0\nx']) expect(isKernelVersion(bad), bad).toBe(false);
  });

  it('orders versions numerically', () => {
    expect(compareVersions('6.1.0-28-amd64', '6.1.0-9-amd64')).toBeGreaterThan(0);
  });
});
