import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { modelJsonSchema } from '../../generator/plan/model-json.js';
import { readModelJson } from '../../pipeline/model-folder/model-json.js';
import { fleetFromText, planAll } from '../generator/support/generator-fixtures.js';

const FLEET = `defaults: { endpoint: probability }
models:
  - name: match-2-taxi
    parameters: [2, TAXI]
    path: models/m
    ab:
      variants:
        - { name: v1, weight: 70 }
        - { name: v2, weight: 30 }
`;

describe('model.json', () => {
  it('is what generate writes, and reads back through the same schema', async () => {
    const planned = planAll(FLEET).files.find((file) => file.path === 'models/match-2-taxi-v2/model.json');
    expect(planned).toBeDefined();
    const out = await mkdtemp(join(tmpdir(), 'modelfleet-model-json-'));
    await mkdir(join(out, 'models', 'match-2-taxi-v2'), { recursive: true });
    await writeFile(join(out, 'models', 'match-2-taxi-v2', 'model.json'), planned?.content ?? '');
    const read = await readModelJson(out, 'match-2-taxi-v2');
    expect(read).toMatchObject({ deployName: 'match-2-taxi-v2', model: 'match-2-taxi', variant: 'v2', route: '/probability/2/TAXI', weight: 30, abVariants: ['match-2-taxi-v1', 'match-2-taxi-v2'] });
    expect(findDeployable(fleetFromText(FLEET), 'match-2-taxi-v2').variant.weight).toBe(read?.weight);
  });

  it('reads a missing or foreign file as absent, so deploy regenerates the folder', async () => {
    const out = await mkdtemp(join(tmpdir(), 'modelfleet-model-json-'));
    expect(await readModelJson(out, 'm')).toBeUndefined();
    await mkdir(join(out, 'models', 'm'), { recursive: true });
    await writeFile(join(out, 'models', 'm', 'model.json'), JSON.stringify({ deployName: 'm' }));
    expect(await readModelJson(out, 'm')).toBeUndefined();
  });

  it('refuses a weight outside 0..100 when it is built', () => {
    expect(modelJsonSchema.safeParse({ ...JSON.parse(planAll(FLEET).files.find((f) => f.path.endsWith('v1/model.json'))?.content ?? '{}'), weight: 130 }).success).toBe(false);
  });
});
