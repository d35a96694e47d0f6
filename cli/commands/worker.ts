import type { Command } from 'commander';

/**
 * `modelfleet worker --model-dir DIR`: the model image in worker mode. Reads the deployable's bulk
 * chunks from Redis (consumer group), scores them with the same session and batching as `serve`,
 * and writes the answers back. Imports only the serving code, inside the action.
 */
export function register(program: Command): void {
  program
    .command('worker')
    .description('Score bulk jobs from the model\'s Redis stream (same model code as serve): /healthz, /readyz, /metrics; graceful stop on SIGTERM (docs/bulk.md).')
    .option('--model-dir <dir>', 'model directory in MLflow layout (MLmodel + model.onnx); default: $MODEL_DIR')
    .option('--redis <url>', 'Redis, e.g. redis://127.0.0.1:6379; default: $REDIS_URL, else $REDIS_ADDRESS, else 127.0.0.1:6379 (password: $REDIS_PASSWORD)')
    .option('--port <port>', 'port of /healthz, /readyz and /metrics; default: $PORT or 8080')
    .option('--host <host>', 'address to bind; default: $HOST or 127.0.0.1 (use 0.0.0.0 in a container)')
    .action(async (opts: { modelDir?: string; redis?: string; port?: string; host?: string }) => {
      // onnxruntime-node reads this when it loads: a worker makes no outbound connection but Redis.
      process.env.ORT_DISABLE_TELEMETRY = '1';
      const { readWorkerConfig } = await import('../../serving/worker/worker-config.js');
      const { startWorker } = await import('../../serving/worker/start-worker.js');
      const config = readWorkerConfig(process.env, { modelDir: opts.modelDir, port: opts.port, host: opts.host, redis: opts.redis });
      const running = await startWorker(config);
      const how = await running.stopped;
      if (how === 'timeout') process.exit(1);
      process.exitCode = 0;
    });
}
