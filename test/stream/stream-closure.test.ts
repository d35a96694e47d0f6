import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { traceServeClosure } from '../../pipeline/build/trace-serve-closure.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the model image and the stream worker', () => {
  it('holds what `worker --stream` loads: its transports, kafkajs and ioredis, and not the stream send/tail commands', async () => {
    const closure = await traceServeClosure(ROOT);
    expect(closure.packages).toEqual(expect.arrayContaining(['kafkajs', 'ioredis']));
    for (const file of ['stream-worker-config', 'start-stream-worker', 'kafka-transport', 'redis-stream-transport']) {
      expect(closure.files).toContain(`dist/serving/worker/stream/${file}.js`);
    }
    expect(closure.files).not.toContain('dist/pipeline/stream/run-stream-command.js');
  });
});
