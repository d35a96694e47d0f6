/**
 * How modelfleet turns measured memory and CPU into Kubernetes requests and limits.
 * Pure: the same samples always give the same sizing. docs/loadtest.md explains each number.
 *
 * Two well-known recommenders frame the choice:
 * - the Vertical Pod Autoscaler recommends a request near a high percentile of usage plus a
 *   15% safety margin (https://github.com/kubernetes/autoscaler/tree/master/vertical-pod-autoscaler);
 * - KRR's simple strategy sets the memory request and limit to the peak plus 15%
 *   (https://github.com/robusta-dev/krr#algorithm).
 * A request at P90 × 1.15 is what the scheduler needs to pack nodes well; a limit at the
 * peak × 1.15 plus a fixed headroom is what keeps the container out of the OOM killer when
 * garbage collection runs a little later than it did during the test. The limit is then
 * proven by a second run in a container capped at exactly that limit.
 */
import { percentile } from '../../lib/percentile.js';

export const MiB = 1024 * 1024;

export interface SizingPolicy {
  /** Multiplies the P90 working set for the memory request (VPA's safety margin). */
  readonly memoryRequestFactor: number;
  /** Multiplies the peak working set for the memory limit (KRR's margin). */
  readonly memoryLimitFactor: number;
  /** Added to the limit after the factor: covers a late GC cycle and allocator slack. */
  readonly memoryLimitHeadroomBytes: number;
  /** Memory figures round up to a multiple of this. */
  readonly memoryStepBytes: number;
  /** No container gets less memory than this (Node.js alone needs some). */
  readonly minMemoryBytes: number;
  /** Multiplies the P90 CPU usage for the CPU request. */
  readonly cpuRequestFactor: number;
  /** CPU request rounds up to a multiple of this many millicores. */
  readonly cpuStepMillicores: number;
  readonly minCpuMillicores: number;
}

export const DEFAULT_SIZING_POLICY: SizingPolicy = Object.freeze({
  memoryRequestFactor: 1.15,
  memoryLimitFactor: 1.15,
  memoryLimitHeadroomBytes: 16 * MiB,
  memoryStepBytes: 8 * MiB,
  minMemoryBytes: 64 * MiB,
  cpuRequestFactor: 1.15,
  cpuStepMillicores: 10,
  minCpuMillicores: 50,
});

/** One measurement of the serving container (or process) while it was under load. */
export interface ResourceSample {
  /** Bytes the OOM killer counts: usage minus inactive file cache (RSS in process mode). */
  readonly workingSetBytes: number;
  /** CPU in cores (1.0 = one full core). */
  readonly cpuCores: number;
}

export interface KubernetesResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string };
}

export interface Sizing {
  readonly policy: SizingPolicy;
  readonly measured: {
    readonly samples: number;
    readonly memoryP90Bytes: number;
    readonly memoryPeakBytes: number;
    readonly cpuP90Cores: number;
    readonly cpuPeakCores: number;
  };
  /** What the two reference recommenders would have said, for the report. */
  readonly compared: {
    readonly vpaMemoryRequestBytes: number;
    readonly krrMemoryBytes: number;
  };
  readonly memoryRequestBytes: number;
  readonly memoryLimitBytes: number;
  readonly cpuRequestMillicores: number;
  /** Limit ÷ measured peak: how much room the limit leaves (1.0 would be no room at all). */
  readonly limitToPeakRatio: number;
  readonly resources: KubernetesResources;
}


export function roundUpTo(value: number, step: number): number {
  return Math.ceil(value / step - 1e-9) * step;
}

/** `128Mi`: memory quantities in whole MiB (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/). */
export function formatMemoryQuantity(bytes: number): string {
  return `${Math.ceil(bytes / MiB)}Mi`;
}

export function formatCpuQuantity(millicores: number): string {
  return `${Math.ceil(millicores)}m`;
}

/**
 * Computes requests and limits from samples taken under load. Throws when there are no samples:
 * a load test that measured nothing must not produce a size.
 */
export function computeSizing(samples: readonly ResourceSample[], policy: SizingPolicy = DEFAULT_SIZING_POLICY): Sizing {
  if (samples.length === 0) throw new RangeError('cannot size a model from zero resource samples');
  const memory = samples.map((s) => s.workingSetBytes);
  const cpu = samples.map((s) => s.cpuCores);
  const memoryP90Bytes = percentile(memory, 90);
  const memoryPeakBytes = Math.max(...memory);
  const cpuP90Cores = percentile(cpu, 90);
  const cpuPeakCores = Math.max(...cpu);

  const memoryRequestBytes = Math.max(
    policy.minMemoryBytes,
    roundUpTo(memoryP90Bytes * policy.memoryRequestFactor, policy.memoryStepBytes),
  );
  const memoryLimitBytes = Math.max(
    memoryRequestBytes,
    policy.minMemoryBytes,
    roundUpTo(memoryPeakBytes * policy.memoryLimitFactor + policy.memoryLimitHeadroomBytes, policy.memoryStepBytes),
  );
  const cpuRequestMillicores = Math.max(
    policy.minCpuMillicores,
    roundUpTo(cpuP90Cores * 1000 * policy.cpuRequestFactor, policy.cpuStepMillicores),
  );

  return {
    policy,
    measured: { samples: samples.length, memoryP90Bytes, memoryPeakBytes, cpuP90Cores, cpuPeakCores },
    compared: {
      vpaMemoryRequestBytes: Math.ceil(memoryP90Bytes * 1.15),
      krrMemoryBytes: Math.ceil(memoryPeakBytes * 1.15),
    },
    memoryRequestBytes,
    memoryLimitBytes,
    cpuRequestMillicores,
    limitToPeakRatio: memoryPeakBytes > 0 ? Math.round((memoryLimitBytes / memoryPeakBytes) * 1000) / 1000 : 0,
    resources: {
      requests: { cpu: formatCpuQuantity(cpuRequestMillicores), memory: formatMemoryQuantity(memoryRequestBytes) },
      // No CPU limit: CFS throttling adds latency long before a pod runs out of CPU, and the
      // HPA scales on the request (https://home.robusta.dev/blog/stop-using-cpu-limits).
      limits: { memory: formatMemoryQuantity(memoryLimitBytes) },
    },
  };
}
