import type { KubeObject } from '../../pipeline/seams/kube.js';

/** Manifests shaped like the ones `modelfleet loadtest` renders, small enough to read in a test. */
export function modelManifests(name: string, image: string, extraEnv: ReadonlyArray<{ name: string; value: string }> = [], memoryLimit = '256Mi'): KubeObject[] {
  const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name };
  const labels = { ...selector, 'app.kubernetes.io/part-of': 'modelfleet' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'placeholder', labels },
      spec: {
        progressDeadlineSeconds: 600,
        selector: { matchLabels: selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: 'model',
              image,
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [{ name: 'PORT', value: '8080' }, ...extraEnv],
              resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: memoryLimit } },
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
            }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'placeholder', labels },
      spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name, namespace: 'placeholder', labels },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: 1, maxReplicas: 3 },
    },
  ];
}
