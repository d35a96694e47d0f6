import path from 'node:path';
import Handlebars from 'handlebars';
import { UserError } from '../../lib/errors/user-error.js';
import type { Deployable } from '../fleet/types.js';
import { toModelJson } from '../plan/model-json.js';
import type { ModelTemplate } from './model-templates.js';
import { DEFAULT_BASE_IMAGE } from '../../lib/base-image.js';

export interface PlannedFile {
  /** Relative to the output folder, `/`-separated: `models/<deployName>/model.json`. */
  readonly path: string;
  readonly content: string;
}

export type RenderModelFolder = (deployable: Deployable) => PlannedFile[];


/**
 * The values a template in image-templates/model/ can use (documented in docs/generator.md).
 * Values only: templates never receive text that could add structure, and every string here
 * was validated by loadFleet (names are DNS labels, paths are plain relative paths).
 */
export function templateContext(deployable: Deployable, fleetFile: string): Record<string, unknown> {
  const { model, variant } = deployable;
  const source = variant.source;
  const fleetDir = path.posix.dirname(fleetFile);
  const config = toModelJson(deployable, fleetFile);
  return {
    deployName: variant.deployName,
    modelName: model.name,
    variant: variant.id,
    route: model.route,
    weight: variant.weight,
    shadow: variant.shadow,
    fleetFile,
    source,
    isPathSource: source.kind === 'path',
    isMlflowSource: source.kind === 'mlflow',
    isImageSource: source.kind === 'image',
    /** For `path:` sources: the model folder relative to the repository root (where the CLI runs). */
    modelDir: source.kind === 'path' ? path.posix.join(fleetDir, source.path) : undefined,
    batching: model.batching,
    scaling: model.scaling,
    loadtest: model.loadtest,
    scheduling: model.scheduling,
    baseImage: DEFAULT_BASE_IMAGE,
    configDigest: config.configDigest,
    config,
  };
}

/** Compiles the templates once; the returned function renders one deployable's folder. */
export function compileModelFolder(templates: readonly ModelTemplate[], fleetFile: string): RenderModelFolder {
  // An isolated Handlebars instance: no helper registered elsewhere leaks in. Output is not a
  // web page, so HTML escaping is off; the values are validated instead.
  const hbs = Handlebars.create();
  const compiled = templates.map((t) => {
    try {
      // compile() parses lazily; parse() now so a broken template fails before anything renders.
      hbs.parse(t.source);
      const render = hbs.compile(t.source, { noEscape: true });
      return { output: t.name.replace(/\.hbs$/, ''), name: t.name, render };
    } catch (err) {
      throw new UserError('TEMPLATE_FAILED', `image-templates/model/${t.name}: ${(err as Error).message}`, 'fix the Handlebars syntax of that template', { cause: err });
    }
  });
  return (deployable) => {
    const base = `models/${deployable.variant.deployName}`;
    const context = templateContext(deployable, fleetFile);
    const files: PlannedFile[] = [{ path: `${base}/model.json`, content: `${JSON.stringify(context.config, null, 2)}\n` }];
    for (const t of compiled) {
      if (t.output === 'model.json') continue;
      let content: string;
      try {
        content = t.render(context);
      } catch (err) {
        throw new UserError('TEMPLATE_FAILED', `image-templates/model/${t.name} failed for ${deployable.variant.deployName}: ${(err as Error).message}`, 'fix the template; it may only use the documented values', { cause: err });
      }
      files.push({ path: `${base}/${t.output}`, content });
    }
    return files;
  };
}
