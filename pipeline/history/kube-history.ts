import { toLabelValue } from '../../lib/names.js';
import { ENVIRONMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from '../deploy/kube/deploy-labels.js';
import type { KubeClient, KubeObject } from '../seams/kube.js';
import { appendRecord, nextRecord, parseRecords, type DeploymentRecord, type RecordFields } from './deployment-record.js';

/**
 * A model's deployment records in Kubernetes: one ConfigMap `<deployName>-history` beside it in
 * the environment's namespace. It carries its own label instead of the deployable's, so pruning
 * and `--remove` leave it (the history of a removed model stays readable) and a rollback of the
 * model's manifests never rolls its history back.
 */
export const HISTORY_SUFFIX = '-history';
export const HISTORY_OF_LABEL = 'modelfleet.io/history-of';
const RECORDS_KEY = 'records.json';

function historyRef(namespace: string, deployName: string) {
  return { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: `${deployName}${HISTORY_SUFFIX}` };
}

export async function readKubeRecords(kube: KubeClient, namespace: string, deployName: string): Promise<DeploymentRecord[]> {
  const object = await kube.get(historyRef(namespace, deployName));
  return parseRecords((object?.data as Record<string, string> | undefined)?.[RECORDS_KEY]);
}

/** Appends a deploy's record (server-side apply of the whole ConfigMap; one deploy per model and environment runs at a time: its resource_group). */
export async function recordKubeDeploy(kube: KubeClient, namespace: string, fields: RecordFields, env: NodeJS.ProcessEnv): Promise<DeploymentRecord> {
  const earlier = await readKubeRecords(kube, namespace, fields.deployName);
  const record = nextRecord(earlier, fields, env);
  const ref = historyRef(namespace, fields.deployName);
  const object: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: ref.name,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [HISTORY_OF_LABEL]: toLabelValue(fields.deployName), [ENVIRONMENT_LABEL]: toLabelValue(fields.environment) },
    },
    data: { [RECORDS_KEY]: `${JSON.stringify(appendRecord(earlier, record), null, 1)}\n` },
  };
  await kube.apply(object);
  return record;
}
