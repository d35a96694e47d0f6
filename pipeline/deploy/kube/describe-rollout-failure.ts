import type { KubeClient, KubeObject } from '../../seams/kube.js';

/** How many log lines of the failing pod the job prints. */
export const LOG_TAIL_LINES = 20;
const EVENTS_SHOWN = 12;

interface PodSummary {
  readonly name: string;
  readonly ready: boolean;
  readonly detail: string;
}

/**
 * What a person needs to see when a rollout does not converge, as printable lines: the newest
 * ReplicaSet's pods and why they are not ready (waiting reason, last termination such as
 * OOMKilled), the warning events of the Deployment, its ReplicaSet and pods, and the failing
 * pod's last log lines. Best effort: a read that fails is reported as a line, never thrown.
 * Every read stays inside `namespace` (a namespace-scoped Role is enough).
 */
export async function describeRolloutFailure(kube: KubeClient, namespace: string, deployment: KubeObject): Promise<string[]> {
  const lines: string[] = [];
  try {
    const replicaSets = (await kube.list('apps/v1', 'ReplicaSet', namespace))
      .filter((rs) => ((rs.metadata.ownerReferences as Array<{ uid?: string }> | undefined) ?? []).some((ref) => ref.uid === deployment.metadata.uid));
    const newest = [...replicaSets].sort((a, b) => revisionOf(b) - revisionOf(a))[0];
    const pods = newest ? await podsOf(kube, namespace, newest) : [];
    const summaries = pods.map(summarizePod);
    if (newest) lines.push(`new ReplicaSet ${newest.metadata.name} (revision ${revisionOf(newest)}): ${summaries.filter((p) => p.ready).length}/${summaries.length} pods ready`);
    for (const pod of summaries) lines.push(`  pod ${pod.name}: ${pod.detail}`);

    const involved = new Set([deployment.metadata.uid, newest?.metadata.uid, ...pods.map((p) => p.metadata.uid)].filter((u): u is string => typeof u === 'string'));
    const events = (await kube.list('v1', 'Event', namespace))
      .filter((e) => involved.has(String((e.involvedObject as { uid?: string } | undefined)?.uid)))
      .sort((a, b) => String(a.lastTimestamp ?? '').localeCompare(String(b.lastTimestamp ?? '')));
    const warnings = events.filter((e) => e.type === 'Warning');
    const shown = (warnings.length > 0 ? warnings : events).slice(-EVENTS_SHOWN);
    if (shown.length > 0) lines.push(`events (${warnings.length > 0 ? 'warnings' : 'latest'}):`);
    for (const event of shown) {
      const object = event.involvedObject as { kind?: string; name?: string } | undefined;
      const count = Number(event.count ?? 1) > 1 ? ` (x${String(event.count)})` : '';
      lines.push(`  ${String(event.type)} ${String(event.reason)} ${object?.kind ?? ''}/${object?.name ?? ''}: ${String(event.message)}${count}`);
    }

    const failing = summaries.find((p) => !p.ready);
    if (failing) {
      try {
        const log = (await kube.podLogs(namespace, failing.name, LOG_TAIL_LINES)).trimEnd();
        lines.push(`last ${LOG_TAIL_LINES} log lines of pod ${failing.name}:`);
        for (const line of log === '' ? ['(no output)'] : log.split('\n')) lines.push(`  | ${line}`);
      } catch (err) {
        lines.push(`(could not read the logs of pod ${failing.name}: ${err instanceof Error ? err.message : String(err)})`);
      }
    }
  } catch (err) {
    lines.push(`(could not read the rollout's events: ${err instanceof Error ? err.message : String(err)})`);
  }
  return lines;
}

/** The first line that names the cause, for the one-line error message. */
export function summarizeCause(lines: readonly string[]): string | undefined {
  const pod = lines.find((l) => l.startsWith('  pod ') && !l.endsWith(': ready'));
  return pod?.trim();
}

async function podsOf(kube: KubeClient, namespace: string, replicaSet: KubeObject): Promise<KubeObject[]> {
  const all = await kube.list('v1', 'Pod', namespace);
  return all.filter((pod) => ((pod.metadata.ownerReferences as Array<{ uid?: string }> | undefined) ?? []).some((ref) => ref.uid === replicaSet.metadata.uid));
}

function revisionOf(object: KubeObject): number {
  return Number(object.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
}

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

function summarizePod(pod: KubeObject): PodSummary {
  const status = (pod.status ?? {}) as { phase?: string; conditions?: Array<{ type?: string; status?: string; message?: string }>; containerStatuses?: ContainerStatus[] };
  const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  if (ready) return { name: pod.metadata.name, ready, detail: 'ready' };
  const parts: string[] = [`phase ${status.phase ?? 'Unknown'}`, 'not ready'];
  for (const container of status.containerStatuses ?? []) {
    const waiting = container.state?.waiting;
    if (waiting?.reason) parts.push(`container ${container.name ?? '?'} waiting: ${waiting.reason}`);
    const last = container.lastState?.terminated ?? container.state?.terminated;
    if (last?.reason) parts.push(`last exit: ${last.reason} (code ${last.exitCode ?? '?'})`);
    if ((container.restartCount ?? 0) > 0) parts.push(`${container.restartCount} restarts`);
  }
  const readyCondition = status.conditions?.find((c) => c.type === 'Ready');
  if (readyCondition?.message) parts.push(readyCondition.message);
  return { name: pod.metadata.name, ready, detail: parts.join(', ') };
}
