import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, beside the code, seconds) and
// `integration` (real dockerd, loop devices, mounts, ansible; under test/,
// one file at a time so that builds never fight over 2 cores and 8 loops).
export default defineConfig({
  test: {
    // One test file at a time: integration files share dockerd, 2 cores and 8 loop devices.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/global-setup.ts'],
          sequence: { concurrent: false },
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
    ],
  },
});
