import type * as Ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { UserError } from '../../lib/errors/user-error.js';
import type { MlflowModel } from '../mlflow/read-mlflow-model.js';
import { bindInputs, type GraphValue } from './bind-inputs.js';
import { buildFeeds, feedLayout, type FeedData } from './feed-layout.js';
import type { FeedLayout, RowBatch } from './row-batch.js';

/** One output of one inference call, for all rows of the batch. */
export interface OutputTensor {
  readonly name: string;
  /** onnxruntime type name (float32, float64, int64, string, bool, ...). */
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number | bigint | string | boolean>;
}

/** What the server needs from a model: its outputs' shapes and a way to score a batch. */
export interface ModelRuntime {
  readonly outputs: readonly GraphValue[];
  readonly inputs: readonly GraphValue[];
  /**
   * How validated rows map onto the graph's inputs. A validator given it writes clean requests straight
   * into the feeds (RowBatch feed form); without it (e.g. a stand-in runtime) batches stay in column form.
   */
  readonly layout?: FeedLayout;
  /** Scores the parts (validated requests) as one inference call; outputs hold their rows in order. */
  run(parts: readonly RowBatch[]): Promise<readonly OutputTensor[]>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** onnxruntime intra-op threads; 1 keeps one model on one core, as its pod is sized. */
  readonly intraOpThreads: number;
}

/**
 * Loads the ONNX file with onnxruntime-node and binds it to the signature. onnxruntime is imported here,
 * lazily, so that reading MLmodel files (load tests, builds) never loads it and so that the caller has
 * set ORT_DISABLE_TELEMETRY before the native module starts.
 */
export async function loadOnnxRuntime(model: MlflowModel, options: RuntimeOptions): Promise<ModelRuntime> {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  const ort = await import('onnxruntime-node');
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(model.onnxFile, {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new UserError('ONNX_LOAD_FAILED', `model ${model.dir}: onnxruntime cannot load ${model.onnxFile}: ${(err as Error).message}`, undefined, { cause: err });
  }
  const toGraph = (meta: readonly InferenceSession.ValueMetadata[]): GraphValue[] =>
    meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
  const inputs = toGraph(session.inputMetadata);
  const outputs = toGraph(session.outputMetadata);
  const bound = bindInputs(model.signature, inputs);
  if (!bound.ok) {
    await session.release().catch(() => undefined);
    throw new UserError('SIGNATURE_GRAPH_MISMATCH', `model ${model.dir}: the MLmodel signature does not match ${model.onnxFile}: ${bound.problems.join('; ')}`);
  }
  const nonTensor = outputs.filter((o) => o.type === 'non-tensor');
  if (nonTensor.length > 0) {
    await session.release().catch(() => undefined);
    throw new UserError('SIGNATURE_GRAPH_MISMATCH', `model ${model.dir}: outputs ${nonTensor.map((o) => o.name).join(', ')} are not tensors (maps or sequences, e.g. skl2onnx's ZipMap); export with zipmap=False`);
  }
  return createRuntime(ort, session, feedLayout(model.signature, bound.binding), inputs, outputs);
}

type OrtModule = typeof Ort;

function createRuntime(
  ort: OrtModule,
  session: InferenceSession,
  layout: FeedLayout,
  inputs: readonly GraphValue[],
  outputs: readonly GraphValue[],
): ModelRuntime {
  // Every call's feeds object is a copy of this one, so all of them share one shape: an object that
  // gets its keys (the graph's input names) one by one per call takes V8's slow property path.
  const feedShape: Record<string, Tensor | null> = {};
  for (const spec of layout.feeds) feedShape[spec.name] = null;
  const names = layout.feeds.map((spec) => spec.name);
  return {
    inputs,
    outputs,
    layout,
    async run(parts) {
      const data = buildFeeds(layout, parts);
      const feeds = { ...feedShape };
      for (let f = 0; f < names.length; f++) {
        const feed = data[f] as FeedData;
        feeds[names[f] as string] = new ort.Tensor(feed.type as 'float32', feed.data as Float32Array, feed.dims);
      }
      const result = await session.run(feeds as Record<string, Tensor>);
      return outputs.map((o) => {
        const t = result[o.name];
        if (!t) throw new Error(`onnxruntime returned no output "${o.name}"`);
        return { name: o.name, type: t.type, dims: t.dims, data: t.data as OutputTensor['data'] };
      });
    },
    async close() {
      await session.release();
    },
  };
}
