import type { Logger } from '../../lib/log.js';
import { scoreChunk } from './chunk-scorer.js';
import type { ModelSession } from './model-session.js';
import type { Delivery, WorkSource } from './work-source.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface QueueWorkerOptions {
  readonly maxInFlight: number;
  readonly readBlockMs: number;
  readonly claimIntervalMs: number;
  readonly maxDeliveries: number;
}

/** Pause after a failed read or upkeep call before trying again (Redis restarting, say). */
const RETRY_PAUSE_MS = 500;

/**
 * The worker loop, whatever the transport: read units of work, score them through the model
 * session (several in flight, so reading and writing overlap with inference), store the answers
 * and acknowledge; every claimIntervalMs, claim work that dead workers left behind, and dead-letter
 * what was delivered too often. `stop()` ends the reading; `run()` resolves once every unit in
 * hand is answered or released.
 */
export class QueueWorker<D extends Delivery> {
  readonly #session: ModelSession;
  readonly #source: WorkSource<D>;
  readonly #options: QueueWorkerOptions;
  readonly #metrics: WorkerMetrics;
  readonly #log: Logger;
  #stopping = false;
  #inFlight = 0;
  #wake: (() => void) | undefined;
  #lastReadError = '';
  #upkeep: Promise<void> = Promise.resolve();

  constructor(session: ModelSession, source: WorkSource<D>, options: QueueWorkerOptions, metrics: WorkerMetrics, log: Logger) {
    this.#session = session;
    this.#source = source;
    this.#options = options;
    this.#metrics = metrics;
    this.#log = log;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async run(): Promise<void> {
    await this.#source.start();
    const timer = setInterval(() => {
      this.#upkeep = this.#upkeep.then(() => this.#recoverAndMaintain());
    }, this.#options.claimIntervalMs);
    this.#upkeep = this.#recoverAndMaintain();
    try {
      while (!this.#stopping) {
        if (this.#inFlight >= this.#options.maxInFlight) {
          await new Promise<void>((resolve) => { this.#wake = resolve; });
          continue;
        }
        let deliveries: D[];
        try {
          deliveries = await this.#source.fetch(this.#options.maxInFlight - this.#inFlight, this.#options.readBlockMs);
          this.#lastReadError = '';
        } catch (err) {
          this.#noteReadError(err);
          await sleep(RETRY_PAUSE_MS);
          continue;
        }
        for (const delivery of deliveries) this.#handle(delivery);
      }
    } finally {
      clearInterval(timer);
    }
    await this.#upkeep;
    while (this.#inFlight > 0) await new Promise<void>((resolve) => { this.#wake = resolve; });
  }

  /** Stops reading new work; `run()` resolves when the work in hand is done. */
  stop(): void {
    this.#stopping = true;
    this.#wake?.();
  }

  #handle(delivery: D): void {
    this.#inFlight++;
    this.#metrics.inFlight.set(this.#inFlight);
    const started = performance.now();
    void this.#process(delivery).finally(() => {
      this.#inFlight--;
      this.#metrics.inFlight.set(this.#inFlight);
      this.#metrics.chunkDuration.observe((performance.now() - started) / 1000);
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    });
  }

  async #process(delivery: D): Promise<void> {
    try {
      if (delivery.deliveries > this.#options.maxDeliveries) {
        const reason = delivery.lastFailure ?? `no worker acknowledged it in ${delivery.deliveries - 1} deliveries (each worker that took it stopped or died before answering)`;
        await this.#source.deadLetter(delivery, reason);
        this.#metrics.chunks.labels('dead_lettered').inc();
        this.#log.warn({ id: delivery.id, deliveries: delivery.deliveries, reason }, 'dead-lettered a chunk');
        return;
      }
      const work = await this.#source.input(delivery);
      if (work.kind === 'skip') {
        await this.#source.skip(delivery, work.reason);
        this.#metrics.chunks.labels('skipped').inc();
        return;
      }
      const outcome = await scoreChunk(this.#session, work.input);
      await this.#source.complete(delivery, outcome);
      this.#metrics.chunks.labels('scored').inc();
      this.#metrics.rows.labels('ok').inc(outcome.ok);
      if (outcome.failed > 0) this.#metrics.rows.labels('failed').inc(outcome.failed);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#log.error({ err, id: delivery.id, deliveries: delivery.deliveries }, 'a chunk failed; releasing it for another attempt');
      try {
        await this.#source.release(delivery, reason);
        this.#metrics.chunks.labels('released').inc();
      } catch (releaseError) {
        // Not released: it stays pending and is claimed once it has been idle for the claim time.
        this.#log.error({ err: releaseError, id: delivery.id }, 'could not release the chunk; it will be claimed after the claim idle time');
      }
    }
  }

  async #recoverAndMaintain(): Promise<void> {
    try {
      const room = Math.max(1, this.#options.maxInFlight - this.#inFlight);
      if (!this.#stopping) {
        const claimed = await this.#source.recover(room);
        if (claimed.length > 0) {
          this.#metrics.claimed.inc(claimed.length);
          this.#log.info({ chunks: claimed.length, ids: claimed.map((d) => d.id) }, 'claimed chunks left unacknowledged by another worker');
          for (const delivery of claimed) this.#handle(delivery);
        }
      }
      await this.#source.maintain();
      const backlog = await this.#source.backlog();
      this.#metrics.lag.set(backlog.waiting);
      this.#metrics.pending.set(backlog.inProgress);
    } catch (err) {
      this.#noteReadError(err);
    }
  }

  #noteReadError(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (message === this.#lastReadError) return;
    this.#lastReadError = message;
    this.#log.warn({ err: message, source: this.#source.description }, 'reading the queue failed; retrying');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
