import { describe, expect, it } from 'vitest';
import { renderGatewayManifests } from '../../pipeline/deploy/gateway/render-gateway-manifests.js';

const options = { namespace: 'modelfleet-production', image: 'registry.example.com/team/modelfleet-gateway:0123456789ab', routesJson: '{"routes":[]}' };

function podSpecOf(objects: ReturnType<typeof renderGatewayManifests>): Record<string, unknown> {
  const deployment = objects.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: Record<string, unknown> } } } | undefined;
  if (!deployment) throw new Error('no Deployment rendered');
  return deployment.spec.template.spec;
}

describe('gateway manifests', () => {
  it('pull the gateway image with the fleet\'s image pull Secrets', () => {
    const pod = podSpecOf(renderGatewayManifests({ ...options, imagePullSecrets: ['registry-pull', 'mirror.pull'] }));
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-pull' }, { name: 'mirror.pull' }]);
  });

  it('leave imagePullSecrets out when the fleet has none, so existing gateways are not changed', () => {
    expect(Object.keys(podSpecOf(renderGatewayManifests(options)))).not.toContain('imagePullSecrets');
    expect(Object.keys(podSpecOf(renderGatewayManifests({ ...options, imagePullSecrets: [] })))).not.toContain('imagePullSecrets');
  });
});
