import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A scoring body with `rows` rows for the example model in `modelDir`, in the format its signature
 * takes and the reference server understands: the input example's first row, scaled a little per row,
 * as {"inputs": [[...], ...]} (tensor models) or {"dataframe_split": {...}} (column models).
 */
export async function bodyFor(modelDir: string, rows: number): Promise<string> {
  const example = JSON.parse(await readFile(join(modelDir, 'input_example.json'), 'utf8')) as { inputs?: number[][]; columns?: string[]; data?: number[][] };
  const seed = example.inputs?.[0] ?? example.data?.[0] ?? [];
  const data = Array.from({ length: rows }, (_, r) => seed.map((v) => (typeof v === 'number' ? v * (1 + r / 1000) : v)));
  return example.inputs ? JSON.stringify({ inputs: data }) : JSON.stringify({ dataframe_split: { columns: example.columns, data } });
}
