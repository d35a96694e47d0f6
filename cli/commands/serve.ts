import type { Command } from 'commander';

/**
 * `modelfleet serve --model-dir DIR [--port N] [--host H]`: the command every model image runs.
 * Imports only the serving code, inside the action, so the image loads no Docker or Kubernetes client.
 */
export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve one MLflow model (ONNX flavor) over HTTP: MLflow /invocations, Open Inference Protocol v2, /healthz, /readyz, /metrics.')
    .option('--model-dir <dir>', 'model directory in MLflow layout (MLmodel + model.onnx); default: $MODEL_DIR')
    .option('--port <port>', 'port to listen on; default: $PORT or 8080')
    .option('--host <host>', 'address to bind; default: $HOST or 127.0.0.1 (use 0.0.0.0 in a container)')
    .action(async (opts: { modelDir?: string; port?: string; host?: string }) => {
      // onnxruntime-node reads this when it loads: a model server makes no outbound connection.
      process.env.ORT_DISABLE_TELEMETRY = '1';
      const { readServerConfig } = await import('../../serving/model-server/server-config.js');
      const { startModelServer } = await import('../../serving/model-server/start-model-server.js');
      const config = readServerConfig(process.env, { modelDir: opts.modelDir, port: opts.port, host: opts.host });
      const running = await startModelServer(config);
      const how = await running.stopped;
      // A drain that outlived SHUTDOWN_TIMEOUT_MS still has sockets open: leave without waiting for them.
      if (how === 'timeout') process.exit(1);
      process.exitCode = 0;
    });
}
