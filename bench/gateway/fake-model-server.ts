/**
 * A stand-in model server for the gateway benchmark while `modelfleet serve` is not built.
 *   node --import tsx bench/gateway/fake-model-server.ts PORT            answers a constant (no model work)
 *   node --import tsx bench/gateway/fake-model-server.ts PORT MODEL_DIR  runs the MLflow/ONNX model with onnxruntime
 * The second form does a model server's per-request work (parse the dataframe_split body, one tensor
 * per column, one inference, JSON answer) without validation or batching.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';

process.env.ORT_DISABLE_TELEMETRY = '1';
const port = Number(process.argv[2] ?? 0);
const modelDir = process.argv[3];

type Score = (columns: readonly string[], data: readonly (readonly number[])[]) => Promise<number[]>;

async function loadScorer(): Promise<Score> {
  if (!modelDir) return async (_columns, data) => data.map(() => 0.42);
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'));
  return async (columns, data) => {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    columns.forEach((name, c) => {
      feeds[name] = new ort.Tensor('float64', Float64Array.from(data, (row) => Number(row[c])), [data.length, 1]);
    });
    const out = await session.run(feeds);
    const first = out[session.outputNames[0] as string];
    return Array.from(first?.data as Float64Array);
  };
}

const score = await loadScorer();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/readyz' || req.url === '/ping') {
      res.end('{"status":"ready"}');
      return;
    }
    let split: { columns: string[]; data: number[][] };
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { dataframe_split: { columns: string[]; data: number[][] } };
      split = body.dataframe_split;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"body is not a dataframe_split JSON body"}');
      return;
    }
    score(split.columns, split.data).then((predictions) => {
      const text = JSON.stringify({ predictions });
      res.writeHead(200, { 'content-type': 'application/json', 'x-model-name': 'stand-in', 'x-model-version': '1', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    }, (err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(err) }));
    });
  });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
