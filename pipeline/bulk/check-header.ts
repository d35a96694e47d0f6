import type { Signature } from '../../serving/mlflow/signature.js';

/**
 * Whether the columns of an input file fit the model's signature, checked before anything is
 * queued (the same rules the model server applies to a request's columns): no column twice, no
 * column the model does not take, every required column present. Returns the problems, in the
 * order a person fixes them; empty when the columns fit.
 */
export function columnProblems(signature: Signature, columns: readonly string[]): string[] {
  const inputs = signature.inputs;
  if (inputs.kind === 'tensors') {
    const only = inputs.specs[0];
    if (inputs.specs.length !== 1 || !only || only.shape.length !== 2) {
      return [`the model takes tensors (${inputs.specs.map((t) => `${t.name ?? 'tensor'} [${t.shape.join(', ')}]`).join(', ')}), which a table of columns cannot hold; use JSON Lines with one row value per line`];
    }
    const width = only.shape[1] ?? -1;
    return width !== -1 && columns.length !== width ? [`the model takes rows of ${width} values (tensor [${only.shape.join(', ')}]); the header has ${columns.length} columns`] : [];
  }
  const problems: string[] = [];
  const known = new Map(inputs.specs.map((c) => [c.name ?? '', c]));
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) problems.push(`column ${JSON.stringify(column)} appears twice`);
    seen.add(column);
    if (!known.has(column)) problems.push(`unknown column ${JSON.stringify(column)}`);
  }
  for (const spec of inputs.specs) {
    if (spec.required && !seen.has(spec.name ?? '')) problems.push(`required column ${JSON.stringify(spec.name ?? '')} (${spec.type}) is missing`);
  }
  return problems;
}

/** The signature's inputs as a person reads them: `a (double), b (string, optional)`. */
export function describeInputs(signature: Signature): string {
  const inputs = signature.inputs;
  if (inputs.kind === 'tensors') return inputs.specs.map((t) => `${t.name ?? 'tensor'} (${t.dtype} [${t.shape.join(', ')}])`).join(', ');
  return inputs.specs.map((c) => `${c.name ?? ''} (${c.type}${c.required ? '' : ', optional'})`).join(', ');
}

/**
 * The first JSON Lines record stands for the file's columns: its keys are checked like a header.
 * Later records with other keys get per-row errors from the worker.
 */
export function firstRecordProblems(signature: Signature, record: unknown): string[] {
  if (signature.inputs.kind === 'tensors') return Array.isArray(record) ? [] : ['the model takes tensors: each line must be one row value (a JSON list), like [0.1, 0.2, 0.3]'];
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    return ['each line must be a JSON object of column values, like {"a": 1.5, "b": "x"}'];
  }
  return columnProblems(signature, Object.keys(record));
}
