import { createServer } from 'node:http';

/**
 * The practical limit of this stack: node:http + onnxruntime-node, serving the same ONNX file with
 * no validation, no metrics, no batching. Understands exactly the two bodies the benchmark sends:
 * {"inputs": [[...], ...]} for a single [N, k] float32 tensor, and {"dataframe_split": {...}} for a
 * single [N, k] float64 matrix. Usage: reference-server.ts MODEL_ONNX PORT
 */
process.env.ORT_DISABLE_TELEMETRY = '1';
const ort = await import('onnxruntime-node');

const [onnxFile, portText = '8090'] = process.argv.slice(2);
if (!onnxFile) throw new Error('usage: reference-server.ts MODEL_ONNX PORT');
const session = await ort.InferenceSession.create(onnxFile, {
  intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3,
});
const [input] = session.inputMetadata;
const output = session.outputNames[0] ?? 'probability';
if (!input?.isTensor) throw new Error('the reference server needs one tensor input');
const inputName = input.name;
const inputType = input.type;

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs?: number[][]; dataframe_split?: { data: number[][] } };
        const rows = body.inputs ?? body.dataframe_split?.data ?? [];
        const k = rows[0]?.length ?? 0;
        const flat = rows.flat();
        const tensor = inputType === 'float64'
          ? new ort.Tensor('float64', Float64Array.from(flat), [rows.length, k])
          : new ort.Tensor('float32', Float32Array.from(flat), [rows.length, k]);
        const result = await session.run({ [inputName]: tensor });
        const data = result[output]?.data as Float32Array | Float64Array;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"predictions":${JSON.stringify(Array.from(data))}}`);
      } catch (err) {
        res.writeHead(500);
        res.end(String(err));
      }
    })();
  });
});
server.listen(Number(portText), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'ready', url: `http://127.0.0.1:${portText}` })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
