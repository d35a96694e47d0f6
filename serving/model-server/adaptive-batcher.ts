import type { RowBatch } from './row-batch.js';
import type { OutputTensor } from './onnx-runtime.js';

/**
 * Merges concurrent requests into one inference call.
 *
 * How it decides (compared with Triton's dynamic batcher and BentoML's adaptive batching):
 * - Triton (https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/model_configuration.html#dynamic-batcher)
 *   dispatches when a preferred batch size is reached, or when the oldest request has waited
 *   max_queue_delay_microseconds; with a delay of 0 it sends whatever queued while the model was busy.
 * - BentoML (https://docs.bentoml.com/en/latest/get-started/adaptive-batching.html) fits
 *   latency = a + b·rows over recent batches and keeps a request waiting only while the predicted
 *   gain outweighs the wait, within max_latency_ms.
 *
 * Here onnxruntime-node runs an inference on the event-loop thread, so requests that arrive during an
 * inference queue up in the sockets by themselves, and time spent waiting on a timer is time the one
 * core spends on neither HTTP nor inference. The batcher is therefore work-conserving (Triton with a
 * queue delay of 0), with a short, bounded hold:
 * 1. The runtime is never left idle while rows wait: when it is free, the queue is dispatched in the
 *    same event-loop turn (setImmediate), so a lone request sees no timer delay and everything read in
 *    that turn rides along.
 * 2. When an inference ends, everything queued meanwhile goes out at once, cut into calls of at most
 *    maxBatchSize rows issued together (a request is never split; one bigger than maxBatchSize gets
 *    a call of its own, issued at once when the runtime is free and nothing is queued).
 * 3. A batch below maxBatchSize is held for at most MAX_HOLD_TURNS event-loop turns while requests are
 *    known to be mid-intake (headers read, body not yet validated), and only while the latency model
 *    (latency = a + b·rows fitted over the last 50 batches, as BentoML does) predicts that the oldest
 *    request still finishes within maxWaitMs + one inference.
 * So no request waits longer than min(maxWaitMs, two loop turns) plus the inference already running
 * when it arrived; batch sizes follow the load by themselves (see modelfleet_batch_size_rows).
 */
export interface BatcherOptions {
  readonly enabled: boolean;
  /** Most rows in one inference call. */
  readonly maxBatchSize: number;
  /** Longest a request may be held back to let a batch grow. */
  readonly maxWaitMs: number;
}

export interface BatchReport {
  readonly rows: number;
  readonly requests: number;
  readonly inferenceMs: number;
  /** How long the oldest request of the batch waited in the queue. */
  readonly waitMs: number;
}

/** The rows of one request inside a (possibly merged) inference result. */
export interface ResultSlice {
  readonly outputs: readonly OutputTensor[];
  readonly offset: number;
  readonly rows: number;
}

interface Pending {
  readonly batch: RowBatch;
  readonly enqueuedAt: number;
  readonly resolve: (slice: ResultSlice) => void;
  readonly reject: (err: unknown) => void;
}

/** Event-loop turns a batch may be held for requests still being read. */
const MAX_HOLD_TURNS = 2;

/** latency(rows) = a + b·rows, least squares over the last SAMPLES batches. */
export class LatencyModel {
  static readonly SAMPLES = 50;
  readonly #rows: number[] = [];
  readonly #ms: number[] = [];
  #a = 0;
  #b = 0;
  /** Refit on the next prediction: batches are recorded far more often than a hold is weighed. */
  #stale = false;

  record(rows: number, ms: number): void {
    this.#rows.push(rows);
    this.#ms.push(ms);
    if (this.#rows.length > LatencyModel.SAMPLES) {
      this.#rows.shift();
      this.#ms.shift();
    }
    this.#stale = true;
  }

  predict(rows: number): number {
    if (this.#stale) {
      this.#stale = false;
      this.#fit();
    }
    return Math.max(0, this.#a + this.#b * rows);
  }

  #fit(): void {
    const n = this.#rows.length;
    const mx = this.#rows.reduce((s, x) => s + x, 0) / n;
    const my = this.#ms.reduce((s, y) => s + y, 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      const dx = (this.#rows[i] ?? 0) - mx;
      sxx += dx * dx;
      sxy += dx * ((this.#ms[i] ?? 0) - my);
    }
    this.#b = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
    this.#a = my - this.#b * mx;
  }
}

export class AdaptiveBatcher {
  readonly #run: (parts: readonly RowBatch[]) => Promise<readonly OutputTensor[]>;
  readonly #options: BatcherOptions;
  readonly #onBatch: (report: BatchReport) => void;
  readonly #now: () => number;
  readonly latency = new LatencyModel();
  #queue: Pending[] = [];
  #queuedRows = 0;
  /** Inference calls issued and not yet finished; new requests queue while there are any. */
  #inflight = 0;
  #lastDone = 0;
  #scheduled = false;
  #holdTurns = 0;
  /** Requests whose headers arrived but which are not yet validated and queued. */
  #intake = 0;

  constructor(
    run: (parts: readonly RowBatch[]) => Promise<readonly OutputTensor[]>,
    options: BatcherOptions,
    onBatch: (report: BatchReport) => void = () => {},
    now: () => number = () => performance.now(),
  ) {
    this.#run = run;
    this.#options = options;
    this.#onBatch = onBatch;
    this.#now = now;
  }

  /** Called when a scoring request's headers arrive; `intakeDone` when it is queued or rejected. */
  intakeStarted(): void {
    this.#intake++;
  }

  intakeDone(): void {
    if (this.#intake > 0) this.#intake--;
  }

  get queuedRows(): number {
    return this.#queuedRows;
  }

  submit(batch: RowBatch): Promise<ResultSlice> {
    if (!this.#options.enabled) return this.#runAlone(batch);
    return new Promise<ResultSlice>((resolve, reject) => {
      const pending: Pending = { batch, enqueuedAt: this.#now(), resolve, reject };
      if (this.#inflight === 0 && this.#queue.length === 0 && batch.rows >= this.#options.maxBatchSize) {
        // Nothing could join it (a call holds at most maxBatchSize rows and a request is never split)
        // and the runtime is free: it goes out now rather than a loop turn later.
        this.#launch([pending]);
        return;
      }
      this.#queue.push(pending);
      this.#queuedRows += batch.rows;
      this.#schedule();
    });
  }

  async #runAlone(batch: RowBatch): Promise<ResultSlice> {
    const started = this.#now();
    const outputs = await this.#run([batch]);
    const inferenceMs = this.#now() - started;
    this.latency.record(batch.rows, inferenceMs);
    this.#onBatch({ rows: batch.rows, requests: 1, inferenceMs, waitMs: 0 });
    return { outputs, offset: 0, rows: batch.rows };
  }

  #schedule(): void {
    if (this.#inflight > 0 || this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#dispatch();
    });
  }

  #shouldHold(): boolean {
    const oldest = this.#queue[0];
    if (!oldest || this.#intake === 0 || this.#queuedRows >= this.#options.maxBatchSize) return false;
    const waited = this.#now() - oldest.enqueuedAt;
    const predicted = this.latency.predict(this.#queuedRows + this.#intake);
    return waited + predicted < this.#options.maxWaitMs + this.latency.predict(1);
  }

  #dispatch(): void {
    if (this.#inflight > 0 || this.#queue.length === 0) return;
    if (this.#holdTurns < MAX_HOLD_TURNS && this.#shouldHold()) {
      // Let the event loop read the bodies already in flight (a poll phase runs between two check
      // phases), then decide again. Holding never idles the runtime on a timer: in one event loop the
      // time spent waiting is time not spent on inference, so a longer hold only lowers throughput.
      this.#holdTurns++;
      setImmediate(() => this.#dispatch());
      return;
    }
    this.#holdTurns = 0;
    // Everything queued goes out now, cut into calls of at most maxBatchSize rows. onnxruntime-node runs
    // each call synchronously in a setImmediate callback, so several calls issued together run back to
    // back in one event-loop turn instead of costing a loop turn each.
    while (this.#queue.length > 0) this.#launch(this.#takeBatch());
  }

  #takeBatch(): Pending[] {
    const taken: Pending[] = [];
    let rows = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Pending;
      if (taken.length > 0 && rows + next.batch.rows > this.#options.maxBatchSize) break;
      taken.push(next);
      rows += next.batch.rows;
      this.#queue.shift();
    }
    this.#queuedRows -= rows;
    return taken;
  }

  #launch(taken: Pending[]): void {
    const rows = taken.reduce((n, p) => n + p.batch.rows, 0);
    this.#inflight++;
    const now = this.#now();
    const waitMs = now - (taken[0]?.enqueuedAt ?? now);
    // Both outcomes settle the call in their own handler (no .finally: a promise fewer per call).
    this.#run(taken.map((p) => p.batch)).then(
      (outputs) => {
        const done = this.#now();
        this.#settled();
        let offset = 0;
        for (const p of taken) {
          p.resolve({ outputs, offset, rows: p.batch.rows });
          offset += p.batch.rows;
        }
        // Calls issued together finish one after another: time each from the end of the previous one.
        const inferenceMs = done - Math.max(now, this.#lastDone);
        this.#lastDone = done;
        this.latency.record(rows, inferenceMs);
        this.#onBatch({ rows, requests: taken.length, inferenceMs, waitMs });
      },
      (err: unknown) => {
        this.#settled();
        for (const p of taken) p.reject(err);
      },
    );
  }

  /** An inference call finished: the next batch may go out (in a later loop turn, see #schedule). */
  #settled(): void {
    this.#inflight--;
    this.#schedule();
  }

  /** Resolves once nothing is queued or running (used by graceful shutdown). */
  async drain(): Promise<void> {
    while (this.#inflight > 0 || this.#queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
