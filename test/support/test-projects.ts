/**
 * Which vitest project a test file belongs to, by folder and name (vitest.config.ts builds the
 * projects from these lists; test/support/test-projects.test.ts checks the files follow them).
 * A file belongs to the first project whose patterns it matches, in this order:
 *
 * - e2e:     test/e2e/** — the whole pipeline through gitlab-ci-local, Docker and the registry.
 * - docker:  needs the Docker engine or the registry: a name with `docker` in it
 *            (`loadtest-docker.test.ts`, `docker-seam.test.ts`), a name ending in `-image.test.ts`
 *            (builds or runs an image), anything under test/registry/, or a test that reads the
 *            registry (listed by name).
 * - process: starts modelfleet's own processes or drives seconds of real HTTP load on 127.0.0.1,
 *            without Docker: a name with `process` in it (`serve-process`, `process-instance`),
 *            ending in `-load.test.ts` (`gateway-under-load`, `drive-load`) or in `cli.test.ts`
 *            (runs the compiled CLI), plus three older files listed by name.
 * - unit:    everything else: in-process, fast, parallel, `inject()` rather than sockets where
 *            fastify offers it.
 *
 * A new test that needs Docker goes in a file named `*-docker.test.ts`; one that starts processes
 * in `*-process.test.ts`.
 */
export const E2E_TESTS: readonly string[] = ['test/e2e/**/*.test.ts'];

export const DOCKER_TESTS: readonly string[] = [
  'test/**/*docker*.test.ts',
  'test/**/*-image.test.ts',
  'test/registry/**/*.test.ts',
  // Deploys to the fake cluster with its images and sizing found in the real registry.
  'test/deploy/kube-cli.test.ts',
  'test/deploy/kube-promotion.test.ts',
];

export const PROCESS_TESTS: readonly string[] = [
  'test/**/*process*.test.ts',
  'test/**/*-load.test.ts',
  'test/**/*cli.test.ts',
  // Named before the rule existed; each runs the local target's processes.
  'test/deploy/up.test.ts',
  'test/deploy/local-target.test.ts',
  'test/deploy/rerun-deploy.test.ts',
];

export const ALL_TESTS: readonly string[] = ['test/**/*.test.ts'];

export type TestProject = 'e2e' | 'docker' | 'process' | 'unit';

/** The project a repository-relative test file lands in, by the same patterns vitest uses. */
export function projectOf(file: string): TestProject {
  const matches = (patterns: readonly string[]) => patterns.some((pattern) => globToRegExp(pattern).test(file));
  if (matches(E2E_TESTS)) return 'e2e';
  if (matches(DOCKER_TESTS)) return 'docker';
  if (matches(PROCESS_TESTS)) return 'process';
  return 'unit';
}

/** The glob subset used above: `**` spans folders, `*` stays within one. */
function globToRegExp(glob: string): RegExp {
  const source = glob
    .split(/(\*\*\/|\*)/)
    .map((part) => (part === '**/' ? '(?:[^/]+/)*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}
