import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../../lib/errors/user-error.js';
import type { InitFile } from './init-files.js';

export type InitOutcome = 'created' | 'unchanged' | 'replaced' | 'extended';

export interface InitResult {
  readonly files: ReadonlyArray<{ readonly path: string; readonly outcome: InitOutcome }>;
}

/**
 * Writes the files into `dir`. Checks everything before writing anything: a file that exists
 * with other content stops the run (nothing written) unless `force`; the same content is left
 * alone, so running init twice changes nothing.
 */
export function applyInit(dir: string, files: readonly InitFile[], force: boolean): InitResult {
  const planned = files.map((file) => ({ file, outcome: outcomeOf(dir, file, force) }));
  const conflicts = planned.filter((p) => p.outcome === 'conflict').map((p) => p.file.path);
  if (conflicts.length > 0) {
    throw new UserError(
      'INIT_WOULD_OVERWRITE',
      `modelfleet init would overwrite ${conflicts.join(', ')} in ${dir}; nothing was written`,
      'run `modelfleet init --force` to replace them, or merge by hand: `modelfleet init --dir <empty folder>` writes the files to compare with',
    );
  }
  const done: Array<{ path: string; outcome: InitOutcome }> = [];
  for (const { file, outcome } of planned) {
    if (outcome === 'conflict') continue;
    if (outcome !== 'unchanged') {
      const target = join(dir, file.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.kind === 'whole' ? file.content : withLines(readIfExists(target), file.lines));
    }
    done.push({ path: file.path, outcome });
  }
  return { files: done };
}

function outcomeOf(dir: string, file: InitFile, force: boolean): InitOutcome | 'conflict' {
  const existing = readIfExists(join(dir, file.path));
  if (existing === undefined) return 'created';
  if (file.kind === 'lines') return missingLines(existing, file.lines).length === 0 ? 'unchanged' : 'extended';
  if (existing.equals(file.content)) return 'unchanged';
  return force ? 'replaced' : 'conflict';
}

function readIfExists(path: string): Buffer | undefined {
  return existsSync(path) ? readFileSync(path) : undefined;
}

function missingLines(existing: Buffer, lines: readonly string[]): string[] {
  const present = new Set(existing.toString('utf8').split(/\r?\n/).map((line) => line.trim()));
  return lines.filter((line) => !present.has(line));
}

/** The file with the missing lines appended after one blank line; a user's own lines stay as they are. */
function withLines(existing: Buffer | undefined, lines: readonly string[]): string {
  const before = existing?.toString('utf8') ?? '';
  const missing = missingLines(existing ?? Buffer.alloc(0), lines);
  if (missing.length === 0) return before;
  const separator = before === '' ? '' : before.endsWith('\n') ? '\n' : '\n\n';
  return `${before}${separator}${missing.join('\n')}\n`;
}
