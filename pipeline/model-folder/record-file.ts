import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';

/** Writes JSON atomically (temp file, then rename): a failed job never leaves half a file. */
export async function writeRecordFile(file: string, value: unknown): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temp, file);
  return file;
}

/**
 * The parsed record, or undefined when the file does not exist. A file that exists but does not
 * match the schema is also undefined: every caller then recreates the record (re-run the step),
 * which is what a person would do with a file written by an older modelfleet.
 */
export async function readRecordFile<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
