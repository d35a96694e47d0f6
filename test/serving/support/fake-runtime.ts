import type { ModelRuntime, OutputTensor } from '../../../serving/model-server/onnx-runtime.js';
import type { RowBatch } from '../../../serving/model-server/row-batch.js';

/** A stand-in for onnxruntime that records every batch and answers row index / 10 per row. */
export function fakeRuntime(options: { delayMs?: number; gate?: Promise<void> } = {}): ModelRuntime & { batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    inputs: [],
    outputs: [{ name: 'probability', type: 'float64', shape: ['N', 1] }],
    async run(parts: readonly RowBatch[]): Promise<readonly OutputTensor[]> {
      if (options.gate) await options.gate;
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const rows = parts.reduce((n, p) => n + p.rows, 0);
      batches.push(rows);
      return [{ name: 'probability', type: 'float64', dims: [rows, 1], data: Float64Array.from({ length: rows }, (_, i) => i / 10) }];
    },
    async close() {},
  };
}
