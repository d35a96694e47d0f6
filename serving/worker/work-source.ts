import type { ChunkInput, ChunkOutcome } from './chunk-scorer.js';

/**
 * Where a queue worker's work comes from and where its answers go. The worker loop
 * (run-worker.ts) knows only this interface: the bulk transport (Redis stream + results hash,
 * redis-bulk-source.ts) is one implementation; a streaming transport (a Kafka topic or a Redis
 * stream in, another one out) is another, sharing the loop, the batching and the ONNX session.
 */
export interface Delivery {
  /** The transport's id for the unit of work (a stream entry id, a partition offset). */
  readonly id: string;
  /** How many times it has been handed to a worker, this time included (1 = first). */
  readonly deliveries: number;
  /** Why the last attempt failed, when one did and the transport kept the note. */
  readonly lastFailure: string | undefined;
}

/** How much work waits. */
export interface Backlog {
  /** Units not handed to any worker yet (Redis: the consumer group's lag). */
  readonly waiting: number;
  /** Units handed out and not yet acknowledged. */
  readonly inProgress: number;
}

export type WorkInput = { readonly kind: 'score'; readonly input: ChunkInput } | { readonly kind: 'skip'; readonly reason: string };

export interface WorkSource<D extends Delivery = Delivery> {
  /** For logs and metrics, e.g. the stream's name. */
  readonly description: string;
  /** Creates what the transport needs (the consumer group); safe to call again after an outage. */
  start(): Promise<void>;
  /** New work, at most `max` units; waits up to `waitMs` when there is none. */
  fetch(max: number, waitMs: number): Promise<D[]>;
  /** Work other workers took and left unacknowledged for too long (they died), claimed by this one. */
  recover(max: number): Promise<D[]>;
  /** What to score for a unit, or why to skip it (its job was cancelled). */
  input(delivery: D): Promise<WorkInput>;
  /** Stores the answers and acknowledges the unit, idempotently. */
  complete(delivery: D, outcome: ChunkOutcome): Promise<void>;
  /** Acknowledges a unit without answers (skipped). */
  skip(delivery: D, reason: string): Promise<void>;
  /** Leaves a unit for another attempt after a failure, noting why. */
  release(delivery: D, reason: string): Promise<void>;
  /** Gives up on a unit: a dead-letter entry with the reason, and every row answered with that error. */
  deadLetter(delivery: D, reason: string): Promise<void>;
  /** Periodic upkeep (the Redis transport trims acknowledged entries). */
  maintain(): Promise<void>;
  backlog(): Promise<Backlog>;
  close(): Promise<void>;
}
