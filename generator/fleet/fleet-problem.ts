import path from 'node:path';
import { formatKeyPath, type KeyPath } from './yaml-positions.js';
import type { SourceLocation } from './types.js';

/** One thing wrong with models.yaml, found before anything is generated. */
export interface FleetProblem {
  /** The key the problem is about, e.g. `['models', 2, 'ab', 'variants', 1, 'weight']`. */
  readonly path: KeyPath;
  readonly message: string;
  readonly hint?: string;
  /**
   * Where to point when `path` is not written in the file (a value that came from
   * `defaults:`): the first of these that the file holds wins, then `path`'s parents.
   */
  readonly locateAt?: readonly KeyPath[];
}

/** How many problems the message lists before it only counts the rest. */
export const PROBLEMS_SHOWN = 10;

/** The name a person recognises: relative to the current folder when the file sits below it. */
export function displayFileName(file: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Finds the line and column of a problem, falling back to the nearest enclosing key the file holds. */
export function locateProblem(problem: FleetProblem, positions: ReadonlyMap<string, SourceLocation>): SourceLocation {
  for (const candidate of [...(problem.locateAt ?? []), problem.path]) {
    const exact = positions.get(formatKeyPath(candidate));
    if (exact) return exact;
  }
  for (let n = problem.path.length - 1; n >= 0; n--) {
    const parent = positions.get(formatKeyPath(problem.path.slice(0, n)));
    if (parent) return parent;
  }
  return { line: 1, column: 1 };
}

export interface LocatedProblem extends FleetProblem {
  readonly location: SourceLocation;
}

/** Sorted by position in the file, so the list reads top to bottom. */
export function sortProblems(problems: readonly LocatedProblem[]): LocatedProblem[] {
  return [...problems].sort(
    (a, b) => a.location.line - b.location.line || a.location.column - b.location.column || a.message.localeCompare(b.message),
  );
}

/** `models.yaml:14:5 models[2].ab.variants[1].weight: message` then an indented hint line. */
export function formatProblem(fileLabel: string, problem: LocatedProblem): string {
  const head = `${fileLabel}:${problem.location.line}:${problem.location.column} ${formatKeyPath(problem.path)}: ${problem.message}`;
  return problem.hint ? `${head}\n    hint: ${problem.hint}` : head;
}

/** The whole report: the first `PROBLEMS_SHOWN` problems, then how many more there are. */
export function formatProblems(fileLabel: string, problems: readonly LocatedProblem[], shown = PROBLEMS_SHOWN): string {
  const sorted = sortProblems(problems);
  const lines = sorted.slice(0, shown).map((p) => formatProblem(fileLabel, p));
  const rest = sorted.length - shown;
  if (rest > 0) lines.push(`... and ${rest} more problem${rest === 1 ? '' : 's'} (fix these first, then run \`modelfleet validate\` again)`);
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return `${fileLabel} has ${count}:\n${lines.join('\n')}`;
}
