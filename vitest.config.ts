import { configDefaults, defineConfig } from 'vitest/config';
import { DOCKER_TESTS, E2E_TESTS, PROCESS_TESTS, ALL_TESTS } from './test/support/test-projects.js';

/*
 * Four projects, split by folder and file name (the rule, in full, is in
 * test/support/test-projects.ts; test/support/test-projects.test.ts checks that every file that
 * talks to Docker lands in the docker project):
 *
 *   unit     in-process and fast; runs in parallel; 10 s per test unless a test says otherwise
 *   process  modelfleet's own processes and real HTTP load on 127.0.0.1, no Docker
 *   docker   needs the Docker engine (and, under test/registry/, the registry on 127.0.0.1:5000)
 *   e2e      test/e2e/**: the whole pipeline through gitlab-ci-local
 *
 * `npm test` runs them all; `npm run test:unit` (and test:process, test:docker, test:e2e) runs one.
 * There is no blanket long timeout: a test that needs more than its project's default says so
 * itself (`it(..., 120_000)`), so a hang in a fast test fails fast.
 *
 * Every run first checks that dist/ is current (test/support/current-build.ts) and rebuilds it
 * when a source is newer: the local target, the process-mode load test and the images run the
 * compiled CLI, and must not exercise yesterday's build.
 */
const shared = {
  pool: 'forks',
  env: { ORT_DISABLE_TELEMETRY: '1' },
} as const;

const exclude = (...groups: ReadonlyArray<readonly string[]>): string[] => [...configDefaults.exclude, ...groups.flat()];

export default defineConfig({
  test: {
    globalSetup: ['./test/support/current-build.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: [...ALL_TESTS],
          exclude: exclude(E2E_TESTS, DOCKER_TESTS, PROCESS_TESTS),
          testTimeout: 10_000,
          hookTimeout: 10_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'process',
          include: [...PROCESS_TESTS],
          exclude: exclude(E2E_TESTS, DOCKER_TESTS),
          // Starting a server process and waiting for /readyz takes seconds on a busy machine.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'docker',
          include: [...DOCKER_TESTS],
          exclude: exclude(E2E_TESTS),
          // Each file builds or starts images; building one from a warm base takes 5–10 s, a cold
          // one and a load test far more. Tests that need longer still say so themselves.
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'e2e',
          include: [...E2E_TESTS],
          exclude: [...configDefaults.exclude],
          // The pipeline tests give each step its own timeout (minutes); set-up builds images.
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
