import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import { describeNotDeployedLocally } from '../../pipeline/local-target/local-gateway.js';
import { EMPTY_STATE, withModel, type LocalModelInstance, type LocalState } from '../../pipeline/local-target/local-state.js';

const fleet = loadFleet(join(resolve(import.meta.dirname, '..'), 'cases', 'three-models', 'models.yaml'));

function instance(deployName: string, port: number): LocalModelInstance {
  return { runtime: 'process', deployName, port, pid: 4242, startedAt: '2026-11-02T10:00:00.000Z', serves: `models/${deployName}`, hash: '0123456789abcdef' };
}

function stateWith(...names: string[]): LocalState {
  return names.reduce((state, name, i) => withModel(state, instance(name, 9100 + i)), EMPTY_STATE);
}

describe('the local gateway deploy warns about models not deployed on this machine', () => {
  it('says nothing when every variant has an instance', () => {
    expect(describeNotDeployedLocally(fleet, stateWith('match-2-taxi-v1', 'match-2-taxi-v2', 'match-7-moto', 'match-9-van'))).toEqual([]);
  });

  it('names the model, its share that answers 503 and the jobs to re-run', () => {
    const lines = describeNotDeployedLocally(fleet, stateWith('match-2-taxi-v1', 'match-9-van'));

    expect(lines).toEqual([
      'warning: model match-2-taxi is not fully deployed on this machine: match-2-taxi-v2 has no instance (its deploy failed or has not run), so 20% of /probability/2/TAXI/trafficaware answers 503; '
        + 'fix it and re-run `match-2-taxi-v2:deploy` (locally: `modelfleet deploy --model match-2-taxi-v2`), then `gateway:deploy`',
      'warning: model match-7-moto is not fully deployed on this machine: match-7-moto has no instance (its deploy failed or has not run), so /probability/7/MOTO/baseline answers 503; '
        + 'fix it and re-run `match-7-moto:deploy` (locally: `modelfleet deploy --model match-7-moto`), then `gateway:deploy`',
    ]);
  });

  it('names the jobs and the command of the environment the gateway serves', () => {
    const [line] = describeNotDeployedLocally(fleet, stateWith('match-2-taxi-v1', 'match-7-moto', 'match-9-van'), 'production');
    expect(line).toMatch(/fix it and re-run `match-2-taxi-v2:deploy:production` \(locally: `modelfleet deploy --model match-2-taxi-v2 --env production`\), then `gateway:deploy:production`$/);
  });
});
