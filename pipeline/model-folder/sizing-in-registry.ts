import { UserError } from '../../lib/errors/user-error.js';
import { openRegistryFor } from '../build/open-registry-for.js';
import { registryTargetFor, type RegistryTarget } from '../build/registry-target.js';
import { SIZING_RECORD_MEDIA_TYPE, sizingRecordSchema, sizingRecordTag, type SizingRecord } from './sizing-record.js';

/**
 * The sizing record beside the image, in the deployable's repository: an OCI artifact whose
 * config blob is the record, so reading it back never pulls a layer. Registries keep what
 * GitLab's job artifacts do not: a deploy re-run after the test job's artifacts expired
 * reads the measured limits from here.
 */
function targetFor(deployName: string, key: string, env: NodeJS.ProcessEnv): RegistryTarget | undefined {
  return registryTargetFor(deployName, sizingRecordTag(key), env);
}

/** Stores the record when a registry is configured; says where, or that there is none. */
export async function publishSizingRecord(record: SizingRecord, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const target = targetFor(record.deployName, record.key, env);
  if (!target) {
    log(`${record.deployName}: no registry configured; the sizing stays in sizing.json on this machine`);
    return;
  }
  try {
    await openRegistryFor(target).putJsonRecord(target.repository, sizingRecordTag(record.key), SIZING_RECORD_MEDIA_TYPE, record, {
      'org.opencontainers.image.title': `${record.deployName} sizing`,
      'org.opencontainers.image.created': record.measuredAt,
    });
  } catch (err) {
    throw new UserError('LOADTEST_RECORD_FAILED', `model ${record.deployName}: storing the sizing record ${target.reference} failed: ${(err as Error).message}`,
      `Check that the registry ${target.host} answers and that this job may push to it, then re-run \`${record.deployName}:test\`.`, { cause: err });
  }
  log(`${record.deployName}: sizing record stored as ${target.reference}`);
}

export type StoredSizing =
  | { readonly kind: 'found'; readonly record: SizingRecord; readonly reference: string }
  | { readonly kind: 'absent'; readonly reference: string }
  | { readonly kind: 'no-registry' };

/** The record measured for `key`, if the registry still has it. */
export async function fetchSizingRecord(deployName: string, key: string, env: NodeJS.ProcessEnv): Promise<StoredSizing> {
  const target = targetFor(deployName, key, env);
  if (!target) return { kind: 'no-registry' };
  let stored;
  try {
    stored = await openRegistryFor(target).getJsonRecord(target.repository, sizingRecordTag(key), SIZING_RECORD_MEDIA_TYPE);
  } catch (err) {
    throw new UserError('DEPLOY_MISSING_INPUT', `model ${deployName}: reading the sizing record ${target.reference} failed: ${(err as Error).message}`,
      `Check that the registry ${target.host} answers and that this job may pull from it, then re-run \`${deployName}:deploy\`.`, { cause: err });
  }
  if (!stored) return { kind: 'absent', reference: target.reference };
  const parsed = sizingRecordSchema.safeParse(stored.value);
  // A record of another shape (an older modelfleet) counts as absent: measuring again is safe.
  if (!parsed.success || parsed.data.key !== key) return { kind: 'absent', reference: target.reference };
  return { kind: 'found', record: parsed.data, reference: target.reference };
}
