import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { findDeployable } from '../../generator/fleet/find-deployable.js';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { StreamSettings } from '../../generator/fleet/types.js';
import { UserError } from '../../lib/errors/user-error.js';
import { kafkaSettingsFrom } from '../../serving/worker/stream/kafka-connection.js';
import { TRACE_HEADERS } from '../../serving/worker/stream/stream-work-source.js';
import { bulkRedisSettings } from '../bulk/bulk-target.js';
import { openStreamClient, type ClientConnection, type ClientRecord } from './stream-client.js';

export interface StreamCommandFlags {
  readonly model: string;
  readonly file: string;
  readonly bootstrap?: string | undefined;
  readonly redis?: string | undefined;
  readonly print: (line: string) => void;
}

/** Messages sent in one produce call / pipeline. */
const SEND_BATCH = 1_000;

/** The model's stream settings; STREAM_NOT_ENABLED when models.yaml gives it none. */
export function resolveStream(file: string, model: string): { deployName: string; stream: StreamSettings } {
  const deployable = findDeployable(loadFleet(file), model);
  const stream = deployable.model.stream;
  if (!stream) {
    throw new UserError('STREAM_NOT_ENABLED', `model ${deployable.variant.deployName} has no \`stream:\` block in ${file}`, `Add \`stream: { transport: redis }\` (or kafka) to model ${deployable.model.name} in ${file} (docs/streaming.md).`);
  }
  return { deployName: deployable.variant.deployName, stream };
}

/** Kafka: --bootstrap, else KAFKA_BOOTSTRAP. Redis: --redis, else REDIS_URL / REDIS_ADDRESS, else the local target's redis-server. */
async function connectionFor(stream: StreamSettings, flags: StreamCommandFlags): Promise<ClientConnection> {
  return stream.transport === 'kafka'
    ? { transport: 'kafka', kafka: kafkaSettingsFrom(process.env, flags.bootstrap) }
    : { transport: 'redis', redis: await bulkRedisSettings(flags.redis) };
}

/**
 * `stream send`: each line of a JSON Lines file becomes one message of the model's input topic, its
 * key the value of `--key FIELD` in the line's object, else its line number. Lines are sent as
 * written: the worker judges them, and a bad one shows up on the dead-letter topic.
 */
export async function runStreamSend(flags: StreamCommandFlags & { readonly input: string; readonly key?: string | undefined }): Promise<number> {
  const { stream } = resolveStream(flags.file, flags.model);
  await access(flags.input).catch(() => {
    throw new UserError('STREAM_INPUT_INVALID', `${flags.input}: no such file`, 'Pass a JSON Lines file, one JSON row per line.');
  });
  const client = await openStreamClient(await connectionFor(stream, flags));
  let sent = 0;
  try {
    let pending: ClientRecord[] = [];
    let line = 0;
    for await (const text of createInterface({ input: createReadStream(flags.input, 'utf8'), crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      pending.push({ key: keyOf(text, flags.key) ?? String(line), value: text, headers: {} });
      if (pending.length >= SEND_BATCH) {
        await client.send(stream.input, pending);
        sent += pending.length;
        pending = [];
      }
    }
    if (pending.length > 0) await client.send(stream.input, pending);
    sent += pending.length;
  } finally {
    await client.close();
  }
  flags.print(`sent ${sent} messages to ${stream.input} (${stream.transport}); predictions go to ${stream.output}, refused messages to ${stream.deadLetter}`);
  return sent;
}

function keyOf(text: string, field: string | undefined): string | undefined {
  if (field === undefined) return undefined;
  try {
    const value = (JSON.parse(text) as Record<string, unknown> | null)?.[field];
    return value === undefined || value === null ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * `stream tail`: prints the model's predictions (or, with --dead-letter, its refused messages) as
 * JSON Lines: the key, the prediction (or the message and the error), and the model, version, digest
 * and input position that traced it. Stops after --count records, or on SIGINT / SIGTERM.
 */
export async function runStreamTail(flags: StreamCommandFlags & { readonly deadLetter: boolean; readonly fromStart: boolean; readonly count?: number | undefined }): Promise<number> {
  const { stream } = resolveStream(flags.file, flags.model);
  const topic = flags.deadLetter ? stream.deadLetter : stream.output;
  const client = await openStreamClient(await connectionFor(stream, flags));
  const done = new AbortController();
  const onSignal = () => done.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let printed = 0;
  try {
    await client.read(topic, {
      fromStart: flags.fromStart,
      signal: done.signal,
      onRecord: (record) => {
        if (done.signal.aborted) return;
        flags.print(JSON.stringify(describeRecord(record, flags.deadLetter)));
        printed++;
        if (flags.count !== undefined && printed >= flags.count) done.abort();
      },
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await client.close();
  }
  return printed;
}

function describeRecord(record: ClientRecord, deadLetter: boolean): Record<string, unknown> {
  const header = (name: string) => record.headers[name];
  const body = deadLetter ? { message: record.value, error: header(TRACE_HEADERS.error) } : { prediction: parseOr(record.value) };
  return { key: record.key, ...body, model: header(TRACE_HEADERS.model), version: header(TRACE_HEADERS.version), digest: header(TRACE_HEADERS.digest), input: header(TRACE_HEADERS.input) };
}

function parseOr(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
