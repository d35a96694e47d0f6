import type { Check, LimitProof } from '../loadtest/checks.js';
import type { RunRecord } from '../loadtest/measure-run.js';
import type { Sizing } from '../sizing/sizing-policy.js';
import type { BadRequestOutcome } from '../loadtest/fire-bad-requests.js';

/** Everything one load test found: written as report.json, and the source of junit.xml and report.html. */
export interface LoadtestReport {
  readonly schemaVersion: 1;
  readonly model: {
    readonly name: string;
    readonly deployName: string;
    readonly variant: string;
    readonly route: string;
  };
  readonly mode: 'docker' | 'process';
  readonly image: string;
  /** What the memory figures mean in this mode. */
  readonly memoryMetric: string;
  readonly settings: {
    readonly durationSeconds: number;
    readonly connections: number;
    readonly rowsPerRequest: number;
    readonly p99BudgetMs: number;
    /** Seed of the random inputs: the same seed regenerates the same requests. */
    readonly seed: number;
    readonly distinctBodies: number;
  };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly readyAfterMs: number;
  readonly measurement: RunRecord;
  readonly badRequests: readonly BadRequestOutcome[];
  /** Undefined when the first run failed (no size is computed from a failed run). */
  readonly sizing: Sizing | undefined;
  readonly limitProof: LimitProof | undefined;
  readonly checks: readonly Check[];
  readonly passed: boolean;
}
