import { updateLocalState, type LocalState } from '../local-target/local-state.js';
import { appendRecord, nextRecord, type DeploymentRecord, type RecordFields } from './deployment-record.js';

/** Appends a deploy's record to the local target's state for its environment (`root`). */
export async function recordLocalDeploy(root: string, fields: RecordFields, env: NodeJS.ProcessEnv): Promise<DeploymentRecord> {
  let record: DeploymentRecord | undefined;
  await updateLocalState((state) => {
    const earlier = state.history?.[fields.deployName] ?? [];
    record = nextRecord(earlier, fields, env);
    return { ...state, history: { ...state.history, [fields.deployName]: appendRecord(earlier, record) } };
  }, root);
  return record as DeploymentRecord;
}

/** A model's records in one environment's local state, oldest first. */
export function localRecords(state: LocalState, deployName: string): readonly DeploymentRecord[] {
  return state.history?.[deployName] ?? [];
}
