import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSizingRecord, sizingKeyOf, sizingRecordTag, toSizingRecord, writeSizingRecord, type SizingInputs } from '../../pipeline/model-folder/sizing-record.js';
import { computeSizing, MiB } from '../../pipeline/sizing/sizing-policy.js';

const inputs: SizingInputs = {
  image: 'a'.repeat(64),
  serverEnv: { MODEL_NAME: 'm', BATCHING_ENABLED: 'true', MAX_BATCH_SIZE: '32' },
  loadtest: { durationSeconds: 5, connections: 4, rowsPerRequest: 1, p99BudgetMs: 250 },
};

function record(deployName: string, key: string) {
  return toSizingRecord({
    deployName,
    key,
    image: 'modelfleet/m:0123456789ab',
    mode: 'docker',
    measuredAt: '2026-12-01T00:00:00.000Z',
    summary: { requestsPerSecond: 1000, p99Ms: 3, errors: 0, memoryPeakBytes: 60 * MiB },
    sizing: computeSizing([{ workingSetBytes: 60 * MiB, cpuCores: 0.5 }]),
  });
}

describe('the sizing key', () => {
  it('is the same for the same measurement inputs, whatever the key order', () => {
    const reordered: SizingInputs = { loadtest: { p99BudgetMs: 250, rowsPerRequest: 1, connections: 4, durationSeconds: 5 }, serverEnv: { MAX_BATCH_SIZE: '32', BATCHING_ENABLED: 'true', MODEL_NAME: 'm' }, image: 'a'.repeat(64) };
    expect(sizingKeyOf(reordered)).toBe(sizingKeyOf(inputs));
    expect(sizingKeyOf(inputs)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the image, the server environment or the load, each of which changes memory use', () => {
    const key = sizingKeyOf(inputs);
    expect(sizingKeyOf({ ...inputs, image: 'b'.repeat(64) })).not.toBe(key);
    expect(sizingKeyOf({ ...inputs, serverEnv: { ...inputs.serverEnv, MAX_BATCH_SIZE: '64' } })).not.toBe(key);
    expect(sizingKeyOf({ ...inputs, loadtest: { ...inputs.loadtest, connections: 8 } })).not.toBe(key);
  });

  it('names a registry tag of legal characters, at most 128 long', () => {
    const tag = sizingRecordTag(sizingKeyOf(inputs));
    expect(tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
    expect(tag.startsWith('sizing-')).toBe(true);
  });
});

describe('sizing.json', () => {
  it('round-trips through the model folder', async () => {
    const out = await mkdtemp(join(tmpdir(), 'modelfleet-sizing-'));
    const written = record('m', sizingKeyOf(inputs));
    await writeSizingRecord(out, written);
    expect(await readSizingRecord(out, 'm')).toEqual(written);
  });

  it('reads a missing file, or one written by an older modelfleet (the bare sizing), as absent', async () => {
    const out = await mkdtemp(join(tmpdir(), 'modelfleet-sizing-'));
    expect(await readSizingRecord(out, 'm')).toBeUndefined();
    await mkdir(join(out, 'models', 'm'), { recursive: true });
    await writeFile(join(out, 'models', 'm', 'sizing.json'), JSON.stringify(computeSizing([{ workingSetBytes: 60 * MiB, cpuCores: 0.5 }])));
    expect(await readSizingRecord(out, 'm')).toBeUndefined();
    await writeFile(join(out, 'models', 'm', 'sizing.json'), '{ not json');
    expect(await readSizingRecord(out, 'm')).toBeUndefined();
  });

  it('refuses to write a record whose key is not a digest', async () => {
    const out = await mkdtemp(join(tmpdir(), 'modelfleet-sizing-'));
    await expect(writeSizingRecord(out, { ...record('m', sizingKeyOf(inputs)), key: 'short' })).rejects.toThrow();
    await expect(readFile(join(out, 'models', 'm', 'sizing.json'))).rejects.toThrow();
  });
});
