import { describe, expect, it, beforeAll } from 'vitest';
import { fetchSizingRecord, publishSizingRecord } from '../../pipeline/model-folder/sizing-in-registry.js';
import { sizingKeyOf, sizingRecordTag, toSizingRecord } from '../../pipeline/model-folder/sizing-record.js';
import { openRegistry } from '../../pipeline/registry/registry-client.js';
import { computeSizing, MiB } from '../../pipeline/sizing/sizing-policy.js';
import { registryAddress, requireRegistry, uniqueRepository } from '../support/registry.js';

let env: NodeJS.ProcessEnv;
let prefix: string;

beforeAll(async () => {
  prefix = uniqueRepository('fleet');
  env = { MODELFLEET_REGISTRY_IMAGE: `${await requireRegistry()}/${prefix}` };
});

function recordFor(deployName: string, image: string) {
  const key = sizingKeyOf({ image, serverEnv: { MODEL_NAME: deployName }, loadtest: { connections: 4 } });
  return toSizingRecord({
    deployName,
    key,
    image: `modelfleet/${deployName}:0123456789ab`,
    mode: 'docker',
    measuredAt: '2026-12-01T10:00:00.000Z',
    summary: { requestsPerSecond: 1200, p99Ms: 4.5, errors: 0, memoryPeakBytes: 58 * MiB },
    sizing: computeSizing([{ workingSetBytes: 55 * MiB, cpuCores: 0.4 }, { workingSetBytes: 58 * MiB, cpuCores: 0.6 }]),
  });
}

describe('the sizing record beside the image in the real registry', () => {
  it('is stored by the test job and read back by a deploy job with the same key', async () => {
    const record = recordFor('match-7-moto', 'c'.repeat(64));
    const lines: string[] = [];
    await publishSizingRecord(record, env, (line) => lines.push(line));
    expect(lines.join('\n')).toContain(`${registryAddress}/${prefix}/match-7-moto:${sizingRecordTag(record.key)}`);
    const found = await fetchSizingRecord('match-7-moto', record.key, env);
    expect(found).toEqual({ kind: 'found', record, reference: `${registryAddress}/${prefix}/match-7-moto:${sizingRecordTag(record.key)}` });
  });

  it('is absent for another image (another key), and once the registry was cleaned', async () => {
    const record = recordFor('match-2-taxi', 'd'.repeat(64));
    await publishSizingRecord(record, env, () => undefined);
    const other = recordFor('match-2-taxi', 'e'.repeat(64));
    expect((await fetchSizingRecord('match-2-taxi', other.key, env)).kind).toBe('absent');

    expect(await openRegistry({ host: registryAddress }).deleteTag(`${prefix}/match-2-taxi`, sizingRecordTag(record.key))).toBe(true);
    expect((await fetchSizingRecord('match-2-taxi', record.key, env)).kind).toBe('absent');
  });

  it('says where the sizing stays when no registry is configured', async () => {
    const record = recordFor('match-9', 'f'.repeat(64));
    const lines: string[] = [];
    await publishSizingRecord(record, {}, (line) => lines.push(line));
    expect(lines).toEqual(['match-9: no registry configured; the sizing stays in sizing.json on this machine']);
    expect(await fetchSizingRecord('match-9', record.key, {})).toEqual({ kind: 'no-registry' });
  });

  it('fails with the registry and the job to re-run named when the registry does not answer', async () => {
    const record = recordFor('match-9', 'f'.repeat(64));
    // Port 9 (discard) on loopback: nothing listens there.
    const error = await publishSizingRecord(record, { MODELFLEET_REGISTRY_IMAGE: '127.0.0.1:9/fleet' }, () => undefined).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'LOADTEST_RECORD_FAILED', hint: expect.stringContaining('match-9:test') });
    expect((error as Error).message).toContain('127.0.0.1:9/fleet/match-9:sizing-');
  });
});
