import type { Command } from 'commander';

interface WorkerOptions {
  modelDir?: string;
  redis?: string;
  port?: string;
  host?: string;
  stream?: boolean;
  transport?: string;
  bootstrap?: string;
  input?: string;
  output?: string;
  deadLetter?: string;
  group?: string;
}

/**
 * `modelfleet worker --model-dir DIR`: the model image in worker mode. Without --stream, reads the
 * deployable's bulk chunks from Redis (consumer group) and writes the answers back (docs/bulk.md);
 * with --stream, consumes the model's input topic (Kafka or a Redis stream) and publishes a
 * prediction per message (docs/streaming.md). Both score with the same session and batching as
 * `serve`. Imports only the serving code, inside the action.
 */
export function register(program: Command): void {
  program
    .command('worker')
    .description('Score bulk jobs from the model\'s Redis stream, or with --stream a topic of messages into a topic of predictions (same model code as serve): /healthz, /readyz, /metrics; graceful stop on SIGTERM (docs/bulk.md, docs/streaming.md).')
    .option('--model-dir <dir>', 'model directory in MLflow layout (MLmodel + model.onnx); default: $MODEL_DIR')
    .option('--redis <url>', 'Redis, e.g. redis://127.0.0.1:6379; default: $REDIS_URL, else $REDIS_ADDRESS, else 127.0.0.1:6379 (password: $REDIS_PASSWORD)')
    .option('--port <port>', 'port of /healthz, /readyz and /metrics; default: $PORT or 8080')
    .option('--host <host>', 'address to bind; default: $HOST or 127.0.0.1 (use 0.0.0.0 in a container)')
    .option('--stream', 'streaming: consume the input topic and publish predictions to the output topic')
    .option('--transport <kind>', 'with --stream: redis or kafka; default: $MODELFLEET_STREAM_TRANSPORT or redis')
    .option('--bootstrap <servers>', 'with --transport kafka: HOST:PORT[,HOST:PORT]; default: $KAFKA_BOOTSTRAP (credentials: $KAFKA_USERNAME, $KAFKA_PASSWORD)')
    .option('--input <topic>', 'with --stream: the topic to consume; default: $MODELFLEET_STREAM_INPUT or modelfleet.<model>.inputs')
    .option('--output <topic>', 'with --stream: the topic of predictions; default: $MODELFLEET_STREAM_OUTPUT or modelfleet.<model>.outputs')
    .option('--dead-letter <topic>', 'with --stream: the topic of refused messages; default: $MODELFLEET_STREAM_DEAD_LETTER or modelfleet.<model>.dead-letter')
    .option('--group <group>', 'with --stream: the consumer group; default: $MODELFLEET_STREAM_GROUP or modelfleet.<model>')
    .action(async (opts: WorkerOptions) => {
      // onnxruntime-node reads this when it loads: a worker makes no outbound connection but its broker.
      process.env.ORT_DISABLE_TELEMETRY = '1';
      const serve = { modelDir: opts.modelDir, port: opts.port, host: opts.host };
      let running;
      if (opts.stream) {
        const { readStreamWorkerConfig } = await import('../../serving/worker/stream/stream-worker-config.js');
        const { startStreamWorker } = await import('../../serving/worker/stream/start-stream-worker.js');
        const config = readStreamWorkerConfig(process.env, { ...serve, transport: opts.transport, bootstrap: opts.bootstrap, redis: opts.redis, input: opts.input, output: opts.output, deadLetter: opts.deadLetter, group: opts.group });
        running = await startStreamWorker(config);
      } else {
        const { readWorkerConfig } = await import('../../serving/worker/worker-config.js');
        const { startWorker } = await import('../../serving/worker/start-worker.js');
        running = await startWorker(readWorkerConfig(process.env, { ...serve, redis: opts.redis }));
      }
      const how = await running.stopped;
      if (how !== 'clean') process.exit(1);
      process.exitCode = 0;
    });
}
