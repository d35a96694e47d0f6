import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Docker and end-to-end suites start real servers; two cores is the machine's size.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    env: { ORT_DISABLE_TELEMETRY: '1' },
  },
});
