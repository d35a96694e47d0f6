import { describe, expect, it } from 'vitest';
import { planKeptVersions } from '../../pipeline/local-target/plan-kept-versions.js';
import type { LocalModelInstance } from '../../pipeline/local-target/local-state.js';

let port = 30_000;
const instance = (version: string | undefined): LocalModelInstance => ({
  runtime: 'process', port: ++port, pid: port, startedAt: '2024-01-01T00:00:00Z', deployName: 'm', serves: `/models/${version ?? 'x'}`, hash: `h-${version ?? 'x'}`,
  ...(version !== undefined ? { version } : {}),
});
const versions = (list: readonly LocalModelInstance[]) => list.map((i) => i.version);

describe('which earlier versions keep running', () => {
  it('keeps the replaced instance first, then the ones kept before, up to keepVersions; the oldest beyond stop', () => {
    const [v1, v2, v3, v4] = [instance('1'), instance('2'), instance('3'), instance('4')];
    const plan = planKeptVersions(v4, v3, [v2, v1], 2);
    expect(versions(plan.kept)).toEqual(['3', '2']);
    expect(versions(plan.stop)).toEqual(['1']);
  });

  it('keeps nothing with keepVersions 0', () => {
    const plan = planKeptVersions(instance('3'), instance('2'), [instance('1')], 0);
    expect(plan.kept).toEqual([]);
    expect(versions(plan.stop)).toEqual(['2', '1']);
  });

  it('never keeps the version that now serves, nor two instances of one version (the older stops)', () => {
    const [oldTwo, newTwo, one] = [instance('2'), instance('2'), instance('1')];
    const sameVersion = planKeptVersions(instance('2'), newTwo, [one, oldTwo], 5);
    expect(versions(sameVersion.kept)).toEqual(['1']);
    expect(sameVersion.stop).toEqual([newTwo, oldTwo]);
    const twice = planKeptVersions(instance('3'), newTwo, [oldTwo, one], 5);
    expect(twice.kept).toEqual([newTwo, one]);
    expect(twice.stop).toEqual([oldTwo]);
  });

  it('stops an instance whose version is unknown, and leaves out the instance that became current (a switch)', () => {
    const [unknown, one, two] = [instance(undefined), instance('1'), instance('2')];
    const plan = planKeptVersions(one, two, [one, unknown], 3);
    expect(plan.kept).toEqual([two]);
    expect(plan.stop).toEqual([unknown]);
  });
});
