import { afterEach } from 'vitest';
import type { Gateway } from '../../serving/gateway/create-gateway.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';

/** Gateways and fake model servers one test starts; every one is closed after that test. */
export interface StartedInTest {
  readonly gateways: Gateway[];
  readonly upstreams: FakeUpstream[];
  /** A fake model server answering as `name`, closed after the test. */
  upstream(name: string): Promise<FakeUpstream>;
}

/** Call at the top of a test file: registers the afterEach that closes what each test started. */
export function closeStartedAfterEach(): StartedInTest {
  const started: StartedInTest = {
    gateways: [],
    upstreams: [],
    async upstream(name) {
      const u = await startFakeUpstream(name);
      started.upstreams.push(u);
      return u;
    },
  };
  afterEach(async () => {
    await Promise.all(started.gateways.splice(0).map((g) => g.close()));
    await Promise.all(started.upstreams.splice(0).map((u) => u.kill()));
  });
  return started;
}
