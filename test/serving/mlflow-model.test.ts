import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors/user-error.js';
import { readMlflowModel } from '../../serving/mlflow/read-mlflow-model.js';
import { formatSchema, parseSignature } from '../../serving/mlflow/signature.js';
import { bindInputs } from '../../serving/model-server/bind-inputs.js';
import { loadOnnxRuntime } from '../../serving/model-server/onnx-runtime.js';
import { withTempDir } from './support/model-server.js';
import { EXAMPLES_DIR } from './support/reference-models.js';

async function copyExample(name: string, dir: string): Promise<string> {
  const target = join(dir, name);
  await cp(join(EXAMPLES_DIR, name), target, { recursive: true });
  return target;
}

async function editMlmodel(dir: string, edit: (text: string) => string): Promise<void> {
  const file = join(dir, 'MLmodel');
  await writeFile(file, edit(await readFile(file, 'utf8')));
}

async function userError(promise: Promise<unknown>): Promise<UserError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('parseSignature', () => {
  it('reads column specs, defaulting required to true as MLflow < 2.10 files imply', () => {
    const sig = parseSignature({ inputs: '[{"name": "a", "type": "double"}, {"name": "b", "type": "string", "required": false}]' }, 'MLmodel');
    expect(sig.inputs).toEqual({ kind: 'columns', specs: [
      { kind: 'column', name: 'a', type: 'double', required: true },
      { kind: 'column', name: 'b', type: 'string', required: false },
    ] });
    expect(sig.outputs).toBeUndefined();
  });

  it('reads tensor specs with dtype and shape', () => {
    const sig = parseSignature({ inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 64]}, "name": "x"}]' }, 'MLmodel');
    expect(sig.inputs).toEqual({ kind: 'tensors', specs: [{ kind: 'tensor', name: 'x', dtype: 'float32', shape: [-1, 64] }] });
  });

  it('lists every problem: unknown types, mixed kinds, duplicate names, bad JSON', () => {
    expect(() => parseSignature({ inputs: '[{"name": "a", "type": "decimal"}, {"name": "a", "type": "double"}, {"name": "a", "type": "long"}]' }, 'm/MLmodel'))
      .toThrow(/m\/MLmodel: signature.inputs\[0\].type: "decimal" is not "tensor" or a column type.*the name "a" appears twice/);
    expect(() => parseSignature({ inputs: '[{"name": "a", "type": "double"}, {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]' }, 'MLmodel'))
      .toThrow(/mixes column specs and tensor specs/);
    expect(() => parseSignature({ inputs: '[{"name": ' }, 'MLmodel')).toThrow(/signature.inputs: not valid JSON/);
    expect(() => parseSignature({ outputs: '[]' }, 'MLmodel')).toThrow(/signature.inputs: missing/);
  });

  it('writes schemas back in MLflow\'s JSON spelling', () => {
    const text = '[{"type": "double", "name": "a", "required": true}, {"type": "string", "name": "b", "required": false}]';
    const sig = parseSignature({ inputs: text }, 'MLmodel');
    expect(formatSchema(sig.inputs)).toBe(text);
  });
});

describe('readMlflowModel', () => {
  it('says which directory has no MLmodel file', async () => {
    await withTempDir(async (dir) => {
      const err = await userError(readMlflowModel(dir));
      expect(err.code).toBe('MLMODEL_INVALID');
      expect(err.message).toContain(dir);
      expect(err.message).toContain('no MLmodel file');
    });
  });

  it('refuses a model without an onnx flavor and names the flavors it found', async () => {
    await withTempDir(async (dir) => {
      const model = await copyExample('match-logreg-v1', dir);
      await editMlmodel(model, (t) => t.replace('  onnx:\n', '  sklearn:\n'));
      const err = await userError(readMlflowModel(model));
      expect(err.code).toBe('MLMODEL_INVALID');
      expect(err.message).toMatch(/no `flavors.onnx` \(found sklearn, python_function\)/);
    });
  });

  it('refuses a missing ONNX file and a data path outside the directory', async () => {
    await withTempDir(async (dir) => {
      const model = await copyExample('match-logreg-v1', dir);
      await rm(join(model, 'model.onnx'));
      expect((await userError(readMlflowModel(model))).message).toMatch(/model.onnx does not exist/);
      await editMlmodel(model, (t) => t.replace('    data: model.onnx\n    onnx_version', '    data: ../../etc/passwd\n    onnx_version'));
      expect((await userError(readMlflowModel(model))).message).toMatch(/points outside the model directory/);
    });
  });

  it('refuses a model without a signature', async () => {
    await withTempDir(async (dir) => {
      const model = await copyExample('match-trees', dir);
      await editMlmodel(model, (t) => t.replace(/signature:\n( {2}.*\n)+/, ''));
      const err = await userError(readMlflowModel(model));
      expect(err.code).toBe('SIGNATURE_INVALID');
    });
  });

  it('gives the same digest to the same files wherever they are, and another to changed files', async () => {
    await withTempDir(async (dir) => {
      const a = await readMlflowModel(join(EXAMPLES_DIR, 'match-trees'));
      const copy = await copyExample('match-trees', dir);
      expect((await readMlflowModel(copy)).artifactDigest).toBe(a.artifactDigest);
      await writeFile(join(copy, 'requirements.txt'), 'changed\n');
      expect((await readMlflowModel(copy)).artifactDigest).not.toBe(a.artifactDigest);
    });
  });
});

describe('binding the signature to the ONNX graph', () => {
  const sig = parseSignature({ inputs: '[{"name": "a", "type": "double"}, {"name": "b", "type": "double"}]' }, 'MLmodel');

  it('maps columns to inputs of the same name, or to one [N, k] input', () => {
    expect(bindInputs(sig, [{ name: 'b', type: 'float32', shape: ['N', 1] }, { name: 'a', type: 'float64', shape: ['N', 1] }]))
      .toMatchObject({ ok: true, binding: { kind: 'by-name' } });
    expect(bindInputs(sig, [{ name: 'X', type: 'float32', shape: ['N', 2] }]))
      .toMatchObject({ ok: true, binding: { kind: 'matrix', columns: ['a', 'b'] } });
  });

  it('explains a mismatch: names expected vs found, widths and types', () => {
    const names = bindInputs(sig, [{ name: 'a', type: 'float64', shape: ['N', 1] }, { name: 'c', type: 'float64', shape: ['N', 1] }]);
    expect(names).toEqual({ ok: false, problems: [expect.stringMatching(/signature inputs \[a, b\] vs graph inputs \[a float64\[N, 1\], c float64\[N, 1\]\]; no graph input for b; the graph also wants c/)] });
    expect(bindInputs(sig, [{ name: 'X', type: 'float32', shape: ['N', 3] }]))
      .toEqual({ ok: false, problems: [expect.stringMatching(/takes 3 columns per row, the signature declares 2/)] });
    expect(bindInputs(sig, [{ name: 'a', type: 'string', shape: ['N', 1] }, { name: 'b', type: 'float64', shape: ['N', 1] }]))
      .toEqual({ ok: false, problems: ['input "a" is string in the graph but double in the signature'] });
  });

  it('refuses to start a model whose signature does not match its graph, naming the model directory', async () => {
    await withTempDir(async (dir) => {
      const model = await copyExample('match-logreg-v1', dir);
      await editMlmodel(model, (t) => t.replace('"name": "backtoback"', '"name": "back_to_back"'));
      const err = await userError(readMlflowModel(model).then((m) => loadOnnxRuntime(m, { intraOpThreads: 1 })));
      expect(err.code).toBe('SIGNATURE_GRAPH_MISMATCH');
      expect(err.message).toContain(model);
      expect(err.message).toMatch(/no graph input for back_to_back; the graph also wants backtoback/);
    });
  });

  it('refuses to start a model whose ONNX file onnxruntime cannot load', async () => {
    await withTempDir(async (dir) => {
      const model = await copyExample('match-mlp', dir);
      const bytes = await readFile(join(model, 'model.onnx'));
      await writeFile(join(model, 'model.onnx'), bytes.subarray(0, 1000));
      const err = await userError(readMlflowModel(model).then((m) => loadOnnxRuntime(m, { intraOpThreads: 1 })));
      expect(err.code).toBe('ONNX_LOAD_FAILED');
      expect(err.message).toContain(join(model, 'model.onnx'));
    });
  });
});
