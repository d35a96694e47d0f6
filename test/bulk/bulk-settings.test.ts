import { describe, expect, it } from 'vitest';
import { FleetInvalidError, parseFleet } from '../../generator/fleet/load-fleet.js';
import { BULK_DEFAULTS, durationSeconds } from '../../generator/fleet/resolve-bulk.js';

const fleet = (...lines: string[]) => parseFleet(['defaults:', '  endpoint: probability', 'models:', ...lines, ''].join('\n'), '/repo/models.yaml');
const problemsOf = (...lines: string[]): string[] => {
  try {
    fleet(...lines);
  } catch (err) {
    if (err instanceof FleetInvalidError) return err.message.split('\n').slice(1);
    throw err;
  }
  throw new Error('expected the fleet to be refused');
};

describe('models.yaml bulk:', () => {
  it('fills every default when a model only says bulk: {}', () => {
    const [model] = fleet('  - name: match-7-moto', '    path: examples/models/match-logreg-v1', '    bulk: {}').models;
    expect(model?.bulk).toEqual({
      enabled: true, chunkRows: 500, maxWorkers: 4, maxQueuedChunks: 200, resultTtlSeconds: 86_400, maxDeliveries: 5,
      claimIdleSeconds: 30, cooldownSeconds: 120, lagPerWorker: 10, redisSecret: 'modelfleet-redis',
    });
    expect(BULK_DEFAULTS.resultTtl).toBe('24h');
  });

  it('leaves a model without bulk: without the key, so nothing generated for it changes', () => {
    const [model] = fleet('  - name: match-7-moto', '    path: examples/models/match-logreg-v1').models;
    expect(model && 'bulk' in model).toBe(false);
  });

  it('merges the model\'s bulk: over defaults.bulk:', () => {
    const spec = parseFleet(['defaults:', '  endpoint: probability', '  bulk: { enabled: false, maxWorkers: 9, resultTtl: 2h }', 'models:',
      '  - name: a', '    parameters: [a]', '    path: examples/models/match-logreg-v1', '  - name: b', '    parameters: [b]', '    path: examples/models/match-logreg-v1', '    bulk: { enabled: true, chunkRows: 1000 }', ''].join('\n'), '/repo/models.yaml');
    expect(spec.models.map((m) => [m.bulk?.enabled, m.bulk?.maxWorkers, m.bulk?.chunkRows, m.bulk?.resultTtlSeconds])).toEqual([[false, 9, 500, 7200], [true, 9, 1000, 7200]]);
  });

  it('reports bad values with their line, the key path and a fix', () => {
    const problems = problemsOf('  - name: match-7-moto', '    path: examples/models/match-logreg-v1', '    bulk: { chunkRows: 0, resultTtl: 1 week, maxWorkerz: 2 }');
    expect(problems.join('\n')).toMatch(/models\.yaml:6:\d+ models\[0\]\.bulk\.chunkRows: must be at least 1/);
    expect(problems.join('\n')).toMatch(/models\[0\]\.bulk\.resultTtl: must be a duration like 90s, 30m, 24h or 7d/);
    expect(problems.join('\n')).toMatch(/models\[0\]\.bulk\.maxWorkerz: unknown key "maxWorkerz"\n {4}hint: did you mean "maxWorkers"\?/);
  });

  it('refuses a result TTL outside 60s..30d, and a cooldown no longer than the claim time', () => {
    const problems = problemsOf('  - name: match-7-moto', '    path: examples/models/match-logreg-v1', '    bulk: { resultTtl: 31d, claimIdleSeconds: 60, cooldownSeconds: 60 }').join('\n');
    expect(problems).toMatch(/bulk\.resultTtl: resultTtl 31d must be between 60s and 30d/);
    expect(problems).toMatch(/bulk\.cooldownSeconds: cooldownSeconds \(60\) must be longer than claimIdleSeconds \(60\)/);
  });

  it('refuses bulk for a model that brings its own image (it has no worker)', () => {
    const problems = problemsOf('  - name: match-bike', '    image: { name: registry.example.com/bike:1, schema: schemas/bike.json }', '    bulk: {}').join('\n');
    expect(problems).toMatch(/models\[0\]\.bulk\.enabled: bulk predictions need modelfleet's worker, and this model brings its own image/);
  });

  it('refuses a secret variable that would shadow the worker\'s Redis settings', () => {
    const problems = problemsOf('  - name: match-7-moto', '    path: examples/models/match-logreg-v1', '    secretEnv: [{ name: REDIS_PASSWORD, secret: mine, key: pw }]', '    bulk: {}').join('\n');
    expect(problems).toMatch(/secretEnv sets REDIS_PASSWORD, which the bulk worker takes from the Secret bulk\.redisSecret \(modelfleet-redis\)/);
  });

  it('reads durations in seconds, minutes, hours and days', () => {
    expect(['90s', '30m', '24h', '7d', '0s', '1w', '1.5h'].map(durationSeconds)).toEqual([90, 1800, 86_400, 604_800, undefined, undefined, undefined]);
  });
});
