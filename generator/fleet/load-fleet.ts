import { readFileSync } from 'node:fs';
import path from 'node:path';
import { YAMLException } from 'js-yaml';
import { UserError } from '../../lib/errors/user-error.js';
import { deepFreeze } from './deep-freeze.js';
import { displayFileName, formatProblems, locateProblem, type FleetProblem, type LocatedProblem } from './fleet-problem.js';
import { resolveFleet } from './resolve-fleet.js';
import type { FleetSpec } from './types.js';
import { formatKeyPath, parseLocatedYaml } from './yaml-positions.js';

/**
 * Reads models.yaml, validates it, merges `defaults:` into every model and returns the
 * fleet, deeply frozen. Throws one UserError listing every problem (FLEET_INVALID), or
 * FLEET_SYNTAX / FLEET_NOT_FOUND.
 */
export function loadFleet(file: string): FleetSpec {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    throw new UserError('FLEET_NOT_FOUND', `fleet file ${displayFileName(absolute)} ${reason}`, 'run from the repository root, or pass the file with --file path/to/models.yaml', { cause: err });
  }
  return parseFleet(text, absolute, displayFileName(absolute));
}

/** The pure part of `loadFleet`: text in, frozen fleet (or a UserError) out. */
export function parseFleet(text: string, file: string, fileLabel = path.basename(file)): FleetSpec {
  let located;
  try {
    located = parseLocatedYaml(text, fileLabel);
  } catch (err) {
    if (err instanceof YAMLException) {
      const where = err.mark ? `${fileLabel}:${err.mark.line + 1}:${err.mark.column + 1}` : fileLabel;
      throw new UserError('FLEET_SYNTAX', `${where}: ${err.reason}`, 'fix the YAML syntax at that line (indentation, a missing ":" or an unclosed quote or bracket)', { cause: err });
    }
    throw err;
  }
  if (located.documents !== 1) {
    throw new UserError(
      'FLEET_SYNTAX',
      located.documents === 0 ? `${fileLabel}: the file is empty` : `${fileLabel}: holds ${located.documents} YAML documents, expected one`,
      located.documents === 0 ? 'start the file with `models:` and one `- name: ...` entry per model' : 'remove the extra `---` lines',
    );
  }
  if (located.aliases.length > 0) {
    const first = located.aliases[0] ?? [];
    const loc = located.positions.get(formatKeyPath(first)) ?? { line: 1, column: 1 };
    throw new UserError(
      'FLEET_SYNTAX',
      `${fileLabel}:${loc.line}:${loc.column} ${formatKeyPath(first)}: YAML aliases (*name) are not supported`,
      'put shared settings under `defaults:`; they are merged into every model',
    );
  }

  const resolved = resolveFleet(located.value, (p) => located.positions.get(formatKeyPath(p)));
  if (resolved.problems.length > 0) {
    const problems: LocatedProblem[] = resolved.problems.map((p: FleetProblem) => ({ ...p, location: locateProblem(p, located.positions) }));
    throw new FleetInvalidError(formatProblems(fileLabel, problems), problems);
  }
  return deepFreeze({ file, models: resolved.models, ci: resolved.ci, kubernetes: resolved.kubernetes, environments: resolved.environments });
}

/** FLEET_INVALID with the problems kept as data, for tests and tools that want them. */
export class FleetInvalidError extends UserError {
  constructor(
    message: string,
    readonly problems: readonly LocatedProblem[],
  ) {
    super('FLEET_INVALID', message, 'fix the problems above; `modelfleet validate` re-checks the file without writing anything');
  }
}
