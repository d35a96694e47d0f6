import type { ChunkInput, ChunkOutcome } from '../chunk-scorer.js';
import type { Backlog, WorkInput, WorkSource } from '../work-source.js';
import type { OutgoingRecord, StreamBatch, StreamTransport } from './stream-transport.js';

/** What every published record says about the model that made it (docs/streaming.md). */
export interface TraceFields {
  readonly model: string;
  readonly version: string;
  readonly digest: string;
}

/** Header (Kafka) and field (Redis) names of the trace and of a dead letter's reason. */
export const TRACE_HEADERS = {
  model: 'modelfleet-model',
  version: 'modelfleet-version',
  digest: 'modelfleet-digest',
  input: 'modelfleet-input',
  error: 'modelfleet-error',
} as const;

/** How a batch was cut for scoring: the JSON rows scored, by message index, and the messages refused before. */
interface BatchPlan {
  readonly scored: readonly number[];
  readonly refused: ReadonlyArray<readonly [number, string]>;
}

/**
 * A stream transport as the queue worker's work source (queue-worker.ts runs both the bulk and the
 * stream workers): each batch of messages is one unit of work. A message body is one JSON row, read
 * as a line of JSON Lines is by the bulk worker (an object per row for a column signature, a row
 * value for a tensor signature), so a row is validated and scored by the same chunk scorer and
 * batcher as `serve` and `bulk`. A message that is not JSON, has no body or fails validation goes
 * to the dead-letter topic with the reason; the rest of its batch is published.
 */
export class StreamWorkSource<B extends StreamBatch> implements WorkSource<B> {
  readonly description: string;
  readonly #transport: StreamTransport<B>;
  readonly #trace: Readonly<Record<string, string>>;
  readonly #plans = new WeakMap<B, BatchPlan>();
  readonly #onRefused: (messages: number) => void;

  /** `onRefused` counts the messages dead-lettered before scoring (no body, not JSON); the queue worker counts the rest. */
  constructor(transport: StreamTransport<B>, trace: TraceFields, onRefused: (messages: number) => void = () => {}) {
    this.#transport = transport;
    this.#onRefused = onRefused;
    this.description = transport.description;
    this.#trace = { [TRACE_HEADERS.model]: trace.model, [TRACE_HEADERS.version]: trace.version, [TRACE_HEADERS.digest]: trace.digest };
  }

  get connected(): boolean {
    return this.#transport.connected;
  }

  get fatal(): string | undefined {
    return this.#transport.fatal;
  }

  start(): Promise<void> {
    return this.#transport.start();
  }

  fetch(max: number, waitMs: number): Promise<B[]> {
    return this.#transport.fetch(max, waitMs);
  }

  recover(max: number): Promise<B[]> {
    return this.#transport.recover(max);
  }

  input(batch: B): Promise<WorkInput> {
    const scored: number[] = [];
    const refused: Array<readonly [number, string]> = [];
    const lines: string[] = [];
    batch.messages.forEach((message, index) => {
      if (message.value === null || message.value.trim() === '') {
        refused.push([index, 'empty_message: the message has no body; send one JSON row per message']);
        return;
      }
      try {
        // Compact JSON holds no line feed, so one message is one line of the chunk whatever its layout.
        lines.push(JSON.stringify(JSON.parse(message.value)));
        scored.push(index);
      } catch (err) {
        refused.push([index, `malformed_json: the message is not valid JSON: ${(err as Error).message}`]);
      }
    });
    this.#plans.set(batch, { scored, refused });
    const input: ChunkInput = { format: 'jsonl', header: '', text: lines.length > 0 ? `${lines.join('\n')}\n` : '', rows: lines.length };
    return Promise.resolve({ kind: 'score', input });
  }

  async complete(batch: B, outcome: ChunkOutcome): Promise<void> {
    const plan = this.#plans.get(batch);
    if (!plan) throw new Error(`batch ${batch.id} was completed before its input was read`);
    const failed = new Map(outcome.errors.map(([row, reason]) => [row, reason]));
    const outputs: OutgoingRecord[] = [];
    const deadLetters: OutgoingRecord[] = plan.refused.map(([index, reason]) => this.#deadLetter(batch, index, reason));
    plan.scored.forEach((index, row) => {
      const reason = failed.get(row);
      if (reason !== undefined) deadLetters.push(this.#deadLetter(batch, index, reason));
      else outputs.push({ index, value: JSON.stringify(outcome.predictions[row]), headers: this.#trace });
    });
    await this.#transport.publishAndCommit(batch, outputs, deadLetters.sort((a, b) => a.index - b.index));
    if (plan.refused.length > 0) this.#onRefused(plan.refused.length);
  }

  /** Not used by streams (input() always scores); a skipped batch still leaves a trace of every message. */
  skip(batch: B, reason: string): Promise<void> {
    return this.deadLetter(batch, reason);
  }

  release(batch: B, reason: string): Promise<void> {
    return this.#transport.release(batch, reason);
  }

  deadLetter(batch: B, reason: string): Promise<void> {
    return this.#transport.publishAndCommit(batch, [], batch.messages.map((_, index) => this.#deadLetter(batch, index, reason)));
  }

  maintain(): Promise<void> {
    return Promise.resolve();
  }

  backlog(): Promise<Backlog> {
    return this.#transport.backlog();
  }

  interruptReads(): void {
    this.#transport.interruptReads();
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  #deadLetter(batch: B, index: number, reason: string): OutgoingRecord {
    return { index, value: batch.messages[index]?.value ?? '', headers: { ...this.#trace, [TRACE_HEADERS.error]: reason } };
  }
}
