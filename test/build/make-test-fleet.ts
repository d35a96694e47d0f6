import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadFleet } from '../../generator/fleet/load-fleet.js';
import type { FleetSpec } from '../../generator/fleet/types.js';

export const EXAMPLE_MODELS = resolve(import.meta.dirname, '../../examples/models');

export interface TestFleet {
  readonly dir: string;
  readonly outDir: string;
  readonly fleet: FleetSpec;
}

/**
 * Writes `models.yaml` (the given text) into a fresh temp folder, copies the named example
 * models next to it under `models/<name>/`, and loads the fleet.
 */
export async function makeTestFleet(yaml: string, exampleModels: readonly string[] = []): Promise<TestFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'modelfleet-build-'));
  for (const name of exampleModels) await cp(join(EXAMPLE_MODELS, name), join(dir, 'models', name), { recursive: true });
  await writeFile(join(dir, 'models.yaml'), yaml);
  return { dir, outDir: join(dir, 'build'), fleet: loadFleet(join(dir, 'models.yaml')) };
}

/** A name no earlier run used, so every run really builds (content-digest tags would match otherwise). */
export function uniqueModelName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}${Date.now().toString(36)}`;
}
