import type { Backlog, Delivery } from '../work-source.js';

/**
 * The broker behind a stream worker, kept to what the worker needs so that the client (kafkajs
 * today) can be swapped: batches of messages in a consumer group, records out, and a commit that
 * comes only after the records are acknowledged (at-least-once). Two implementations:
 * kafka-transport.ts and redis-stream-transport.ts.
 */
export interface StreamMessage {
  /** The message key as text (Kafka key bytes read as UTF-8; the `key` field of a Redis entry), or null. */
  readonly key: string | null;
  /** The message body as text, or null when it has none (a Kafka tombstone, a Redis entry without `value`). */
  readonly value: string | null;
  /** Where it sits in the input, for the output's trace header: `topic/partition/offset` or the Redis entry id. */
  readonly position: string;
}

/** A batch of consecutive input messages, handed to one worker and committed as one. */
export interface StreamBatch extends Delivery {
  readonly messages: readonly StreamMessage[];
}

/** One record to publish for input message `index` of the batch: its key and position go with it. */
export interface OutgoingRecord {
  readonly index: number;
  readonly value: string;
  /** Headers (Kafka) or extra fields (Redis): model, version, digest; the error of a dead letter. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface StreamTransport<B extends StreamBatch = StreamBatch> {
  /** For logs: the input topic and the group. */
  readonly description: string;
  /** True while the broker connection is up (/readyz). */
  readonly connected: boolean;
  /** Why the client cannot go on, once it gave up for good (/healthz fails); undefined while it can. */
  readonly fatal?: string | undefined;
  /** Connects, creates what is missing (the Redis group) and starts consuming. */
  start(): Promise<void>;
  /** Up to `max` batches of new messages; waits up to `waitMs` when there are none. */
  fetch(max: number, waitMs: number): Promise<B[]>;
  /** Batches that a dead worker took and never committed (Redis XAUTOCLAIM; Kafka's rebalance does this itself). */
  recover(max: number): Promise<B[]>;
  /**
   * Publishes the predictions and the dead letters, waits until the broker acknowledged them all,
   * and only then commits the batch (Kafka: the offset after it; Redis: XACK).
   */
  publishAndCommit(batch: B, outputs: readonly OutgoingRecord[], deadLetters: readonly OutgoingRecord[]): Promise<void>;
  /** Leaves the batch uncommitted for another attempt, noting why. */
  release(batch: B, reason: string): Promise<void>;
  /** The group's lag (messages not yet delivered) and the messages this worker holds. */
  backlog(): Promise<Backlog>;
  /** Ends a fetch still waiting (the stop has begun). */
  interruptReads(): void;
  /** Stops consuming: batches fetched and not started are left uncommitted for the next consumer. */
  close(): Promise<void>;
}
