import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { makeExampleModels } from '../../scripts/make-example-models.js';
import { EXAMPLES_DIR } from './support/reference-models.js';
import { EXAMPLE_NAMES, withTempDir } from './support/model-server.js';

describe('example models', () => {
  it('are byte-identical to what scripts/make-example-models.ts writes today', async () => {
    await withTempDir(async (dir) => {
      await makeExampleModels(dir);
      const fresh = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
      expect(fresh).toEqual([...EXAMPLE_NAMES].sort());
      for (const name of fresh) {
        const files = (await readdir(join(dir, name))).sort();
        expect((await readdir(join(EXAMPLES_DIR, name))).sort(), `${name}: file list`).toEqual(files);
        for (const file of files) {
          const want = await readFile(join(dir, name, file));
          const have = await readFile(join(EXAMPLES_DIR, name, file));
          expect(have.equals(want), `examples/models/${name}/${file} is stale: run npx tsx scripts/make-example-models.ts`).toBe(true);
        }
      }
    });
  });

  it('writes the same bytes twice in a row', async () => {
    await withTempDir(async (dir) => {
      await makeExampleModels(join(dir, 'a'));
      await makeExampleModels(join(dir, 'b'));
      for (const name of EXAMPLE_NAMES) {
        const a = await readFile(join(dir, 'a', name, 'model.onnx'));
        const b = await readFile(join(dir, 'b', name, 'model.onnx'));
        expect(a.equals(b)).toBe(true);
      }
    });
  });

  it.each(EXAMPLE_NAMES)('%s reads back as an MLflow ONNX model with a signature and an input example', async (name) => {
    const model = await readMlflowModel(join(EXAMPLES_DIR, name));
    expect(model.onnxFile).toBe(join(EXAMPLES_DIR, name, 'model.onnx'));
    expect(model.providers).toContain('CPUExecutionProvider');
    expect(model.inputExample?.data.length).toBeGreaterThan(0);
    expect(model.artifactDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(model.signature.outputs?.kind).toBe('tensors');
  });

  it('declares the five match features as required doubles in both logistic regressions', async () => {
    for (const name of ['match-logreg-v1', 'match-logreg-v2']) {
      const { signature } = await readMlflowModel(join(EXAMPLES_DIR, name));
      expect(signature.inputs).toEqual({
        kind: 'columns',
        specs: ['route_decision_score', 'farevalueinminor', 'offer_throughput_rate', 'eventtime', 'backtoback']
          .map((c) => ({ kind: 'column', name: c, type: 'double', required: true })),
      });
    }
  });
});
