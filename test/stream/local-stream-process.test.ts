import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { stopLocalBulk } from '../../pipeline/bulk/local-bulk.js';
import { isAlive, localRedisUrl } from '../../pipeline/bulk/local-bulk-state.js';
import { startLocalStreams, stopLocalStreams } from '../../pipeline/stream/local-stream.js';
import { openStreamClient } from '../../pipeline/stream/stream-client.js';
import { redisSettingsFrom } from '../../serving/worker/redis-connection.js';
import { waitFor } from '../bulk/support/bulk-fixture.js';
import { makeStreamFleet, rows, testTopics } from './support/stream-fixture.js';

describe('the local target\'s stream workers (modelfleet up / down)', () => {
  let stateDir: string;
  let fleet: Awaited<ReturnType<typeof makeStreamFleet>>;
  const previous = process.env.MODELFLEET_STATE_DIR;
  const topics = testTopics('local');

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'modelfleet-local-stream-'));
    process.env.MODELFLEET_STATE_DIR = stateDir;
    fleet = await makeStreamFleet({ transport: 'redis', input: topics.input, output: topics.output, deadLetter: topics.deadLetter });
  });

  afterAll(async () => {
    await stopLocalStreams(() => undefined);
    await stopLocalBulk(() => undefined);
    if (previous === undefined) delete process.env.MODELFLEET_STATE_DIR;
    else process.env.MODELFLEET_STATE_DIR = previous;
    await fleet?.cleanup();
    await rm(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('starts Redis and a worker per stream model, which scores what is sent; down stops both', async () => {
    const lines: string[] = [];
    await startLocalStreams(loadFleet(fleet.file), { out: join(fleet.dir, 'build'), print: (line) => lines.push(line) });
    expect(lines.join('\n')).toMatch(/stream: started redis-server on 127\.0\.0\.1:\d+/);
    expect(lines.join('\n')).toMatch(new RegExp(`stream: match-7-moto-baseline consumes ${topics.input.replaceAll('.', '\\.')} \\(redis\\) into ${topics.output.replaceAll('.', '\\.')}; worker pid (\\d+)`));
    const pid = Number(/worker pid (\d+)/.exec(lines.join('\n'))?.[1]);
    const url = await localRedisUrl();
    expect(url).toBeDefined();
    const client = await openStreamClient({ transport: 'redis', redis: redisSettingsFrom({}, url) });
    await client.send(topics.input, rows(50).map((r, i) => ({ key: `k${i}`, value: r.json, headers: {} })));
    const seen: string[] = [];
    const done = new AbortController();
    const reading = client.read(topics.output, { fromStart: true, signal: done.signal, onRecord: (r) => seen.push(r.key ?? '') });
    await waitFor(() => Promise.resolve(seen.length >= 50), 30_000, 'the local worker\'s predictions', 100);
    done.abort();
    await reading;
    await client.close();
    expect(new Set(seen).size).toBe(50);

    const stopped: string[] = [];
    await stopLocalStreams((line) => stopped.push(line));
    expect(stopped).toEqual([`stopped the stream worker of match-7-moto-baseline (pid ${pid})`]);
    expect(isAlive(pid)).toBe(false);
  }, 60_000);
});
