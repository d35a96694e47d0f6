import { createServer, type ServerResponse } from 'node:http';

/**
 * The lean way to serve one ONNX model from Node, the yardstick for `modelfleet serve`: node:http,
 * JSON.parse, one type check per value while copying it, in one indexed pass, into a typed array
 * allocated once per request at its final size, one session.run, and the predictions written as text
 * without an intermediate array. No metrics, no batching, no problem lists: a bad value is a bare 400.
 *
 * It understands exactly the two bodies the benchmark sends, both rows of the single [N, k] graph
 * input: {"inputs": [[...], ...]} and {"dataframe_split": {"columns": [...], "data": [[...], ...]}}.
 *
 *   node reference-server.js MODEL_ONNX PORT
 */
process.env.ORT_DISABLE_TELEMETRY = '1';
const ort = await import('onnxruntime-node');

const [onnxFile, portText = '8090'] = process.argv.slice(2);
if (!onnxFile) throw new Error('usage: reference-server.js MODEL_ONNX PORT');
const session = await ort.InferenceSession.create(onnxFile, {
  intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3,
});
const [input] = session.inputMetadata;
const outputName = session.outputNames[0] ?? 'probability';
if (!input?.isTensor || input.shape.length !== 2 || typeof input.shape[1] !== 'number') {
  throw new Error('the reference server needs a model with one [N, k] tensor input');
}
if (input.type !== 'float32' && input.type !== 'float64') throw new Error(`the reference server takes float32 or float64 inputs, not ${input.type}`);
const inputName = input.name;
const elementType = input.type;
const width = input.shape[1];

type Rows = { inputs?: unknown; dataframe_split?: { data?: unknown } };

/** Rows → typed array: one pass, one check per value; undefined when the body is not k numbers a row. */
function toTensorData(rows: unknown): Float32Array | Float64Array | undefined {
  if (!Array.isArray(rows) || rows.length === 0) return undefined;
  const n = rows.length;
  const data = elementType === 'float32' ? new Float32Array(n * width) : new Float64Array(n * width);
  for (let r = 0, at = 0; r < n; r++) {
    const row: unknown = rows[r];
    if (!Array.isArray(row) || row.length !== width) return undefined;
    for (let c = 0; c < width; c++, at++) {
      const v: unknown = row[c];
      if (typeof v !== 'number') return undefined;
      data[at] = v;
    }
  }
  return data;
}

/** {"predictions":[p0,p1,...]}; a non-finite value becomes null, as JSON.stringify would write it. */
function formatPredictions(values: ArrayLike<number>): string {
  let text = '{"predictions":[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    text += (i === 0 ? '' : ',') + (Number.isFinite(v) ? String(v) : 'null');
  }
  return `${text}]}`;
}

/** With Content-Length, as any framework sends it (without it node:http would chunk the body). */
function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function score(res: ServerResponse, text: string): void {
  let rows: unknown;
  try {
    const body = JSON.parse(text) as Rows;
    rows = body.inputs ?? body.dataframe_split?.data;
  } catch {
    answer(res, 400, '{"error":"malformed_json"}');
    return;
  }
  const data = toTensorData(rows);
  if (!data) {
    answer(res, 400, `{"error":"bad_input","message":"send rows of ${width} numbers"}`);
    return;
  }
  const n = data.length / width;
  const feed = elementType === 'float32'
    ? new ort.Tensor('float32', data as Float32Array, [n, width])
    : new ort.Tensor('float64', data as Float64Array, [n, width]);
  session.run({ [inputName]: feed }).then(
    (result) => answer(res, 200, formatPredictions(result[outputName]?.data as Float32Array | Float64Array)),
    (err: unknown) => answer(res, 500, JSON.stringify({ error: 'inference_failed', message: String(err) })),
  );
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => score(res, (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8')));
});
server.listen(Number(portText), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'ready', url: `http://127.0.0.1:${portText}` })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
