import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDnsLabel, isLabelValue } from '../../lib/names.js';
import { KEPT_SLOTS_ANNOTATION, MODEL_VERSION_ANNOTATION, planKeptSlots, slotObjectName, slotOf, SLOT_LABEL, versionedDeployOf, versionManifests } from '../../pipeline/deploy/kube/version-slots.js';
import { modelManifests } from './kube-fixtures.js';

describe('version slots', () => {
  it('names MLflow versions v<N> and keeps clean version names as they are', () => {
    expect(slotOf('4')).toBe('v4');
    expect(slotOf('local-82d0f71d29db')).toBe('local-82d0f71d29db');
    expect(slotOf('Champion.2')).toMatch(/^h[0-9a-f]{12}$/);
    // Versions that would read like another's slot are hashed.
    expect(slotOf('v4')).not.toBe(slotOf('4'));
    expect(slotOf('h1')).toMatch(/^h[0-9a-f]{12}$/);
    // Nor may a unit take a bulk or stream worker's name.
    expect(slotOf('worker')).toMatch(/^h[0-9a-f]{12}$/);
    expect(slotOf('stream')).toMatch(/^h[0-9a-f]{12}$/);
  });

  it('gives every version a valid label and every unit a valid Service name, distinct versions distinct slots', () => {
    const deployName = fc.stringMatching(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/);
    const version = fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.nat().map(String), fc.nat().map((n) => `v${n}`), fc.stringMatching(/^[a-z][a-z0-9-]{0,50}$/));
    fc.assert(fc.property(deployName, version, version, (name, a, b) => {
      expect(isLabelValue(slotOf(a))).toBe(true);
      expect(isDnsLabel(slotObjectName(name, slotOf(a)))).toBe(true);
      if (a !== b) expect(slotOf(a)).not.toBe(slotOf(b));
    }));
  });

  it('renames the model server\'s objects to the version\'s unit, adds its own Service, and points the model\'s Service at it', () => {
    const { objects, deploymentName, switchObjects } = versionManifests(modelManifests('iris', 'modelfleet/iris:000000000007'), 'iris', '7', ['v6']);
    expect(deploymentName).toBe('iris-v7');
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Deployment/iris-v7', 'HorizontalPodAutoscaler/iris-v7', 'Service/iris', 'Service/iris-v7']);
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as { metadata: { annotations: Record<string, string> }; spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } } };
    expect(deployment.metadata.annotations[MODEL_VERSION_ANNOTATION]).toBe('7');
    expect(deployment.spec.selector.matchLabels[SLOT_LABEL]).toBe('v7');
    expect(deployment.spec.template.metadata.labels[SLOT_LABEL]).toBe('v7');
    expect((objects.find((o) => o.kind === 'HorizontalPodAutoscaler')?.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name).toBe('iris-v7');
    expect(switchObjects.map((o) => o.metadata.name)).toEqual(['iris']);
    expect((switchObjects[0]?.spec as { selector: Record<string, string> }).selector[SLOT_LABEL]).toBe('v7');
    expect(switchObjects[0]?.metadata.annotations?.[KEPT_SLOTS_ANNOTATION]).toBe('v6');
  });

  it('keeps the replaced version first, then those kept before, never the new one, at most keepVersions, only live ones', () => {
    const live = new Set(['v1', 'v2', 'v3']);
    expect(planKeptSlots('v4', { serving: 'v3', kept: ['v2', 'v1'] }, live, 2)).toEqual(['v3', 'v2']);
    expect(planKeptSlots('v2', { serving: 'v3', kept: ['v2', 'v1'] }, live, 2)).toEqual(['v3', 'v1']);
    expect(planKeptSlots('v4', { serving: 'v3', kept: ['v9', 'v1'] }, live, 5)).toEqual(['v3', 'v1']);
    expect(planKeptSlots('v4', { serving: 'v3', kept: [] }, live, 0)).toEqual([]);
  });

  it('runs models of unknown version and models that scale to zero in place', () => {
    expect(versionedDeployOf(undefined, { keepVersions: 1 })).toBeUndefined();
    expect(versionedDeployOf('3', { keepVersions: 1, scaleToZero: { idleSeconds: 60 } })).toBeUndefined();
    expect(versionedDeployOf('3', { keepVersions: 2 })).toEqual({ version: '3', keepVersions: 2 });
  });
});
