import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { baseImageFrom, DEFAULT_BASE_IMAGE } from '../../lib/base-image.js';
import { UserError } from '../../lib/errors/user-error.js';
import { findPackageRoot } from '../../lib/package-root.js';
import type { ImageBuildInputs } from './ensure-image.js';
import { gitCommit } from './git-commit.js';
import { digestCanonicalJson } from './image-tag.js';
import { prepareServingLayers } from './prepare-serving-layers.js';

/** Image repository of the gateway; `gateway` is a reserved model name, so no model image takes it. */
export const GATEWAY_REPOSITORY = 'modelfleet/gateway';

/**
 * Where the gateway reads its route table: the path at which k8s-templates/gateway/deployment.yaml.hbs
 * mounts the ConfigMap (`/etc/modelfleet`, key `routes.json`).
 */
export const GATEWAY_ROUTES_FILE = '/etc/modelfleet/routes.json';

/** The gateway's port (the Deployment's containerPort and `--port`). */
export const GATEWAY_PORT = 8000;

/** Label keys on the gateway image. */
export const GATEWAY_IMAGE_LABELS = {
  component: 'io.modelfleet.component',
  contentDigest: 'io.modelfleet.content-digest',
  // https://github.com/opencontainers/image-spec/blob/main/annotations.md
  revision: 'org.opencontainers.image.revision',
} as const;

/** Everything the gateway image is made of, resolved but not built yet. Its build context holds the same runtime/ and app/ as model images. */
export interface GatewayImageInputs extends ImageBuildInputs {
  readonly contentDigest: string;
}

export interface PrepareGatewayImageInputsOptions {
  /** Default: MODELFLEET_BASE_IMAGE, else node:20-bookworm-slim. */
  readonly baseImage?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly packageRoot?: string;
  readonly cacheDir?: string;
  /** Folder whose git commit labels the image (default: the working directory). */
  readonly cwd?: string;
}

/**
 * Resolves the gateway image's inputs and its content-digest tag without building. Nothing of
 * models.yaml goes in: the route table comes from a ConfigMap, so the tag changes only with the
 * code, the dependencies, the Dockerfile and the base image.
 */
export async function prepareGatewayImageInputs(options: PrepareGatewayImageInputsOptions = {}): Promise<GatewayImageInputs> {
  const env = options.env ?? process.env;
  const packageRoot = options.packageRoot ?? findPackageRoot();
  const { runtime, appFiles, servingCodeDigest } = await prepareServingLayers({ packageRoot, ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}) });
  const dockerfile = await renderGatewayDockerfile(packageRoot);
  const baseImage = options.baseImage ?? baseImageFrom(env);
  const buildArgs = { BASE_IMAGE: baseImage };
  const labels = { [GATEWAY_IMAGE_LABELS.component]: 'gateway' };
  const contentDigest = digestCanonicalJson({
    component: 'gateway',
    dockerfile,
    baseImage,
    runtimeDependenciesKey: runtime.key,
    servingCodeDigest,
    buildArgs,
    labels,
  });
  const commit = await gitCommit(options.cwd ?? process.cwd(), env);
  return {
    tag: `${GATEWAY_REPOSITORY}:${contentDigest.slice(0, 12)}`,
    contentDigest,
    baseImage,
    dockerfile,
    // The content digest and the commit are not inputs of the digest (the commit changes nothing in the image).
    buildArgs: { ...buildArgs, CONTENT_DIGEST: `sha256:${contentDigest}`, GIT_COMMIT: commit },
    labels: { ...labels, [GATEWAY_IMAGE_LABELS.contentDigest]: `sha256:${contentDigest}`, [GATEWAY_IMAGE_LABELS.revision]: commit },
    contextParts: [
      { from: runtime.dir, to: 'runtime' },
      { from: packageRoot, to: 'app', entries: appFiles },
    ],
  };
}

/** image-templates/gateway/Dockerfile.hbs, rendered with the values it may use. */
async function renderGatewayDockerfile(packageRoot: string): Promise<string> {
  const file = join(packageRoot, 'image-templates', 'gateway', 'Dockerfile.hbs');
  try {
    const source = await readFile(file, 'utf8');
    // An isolated instance and strict mode: an unknown value is an error, not an empty string.
    const render = Handlebars.create().compile(source, { noEscape: true, strict: true });
    return render({ defaultBaseImage: DEFAULT_BASE_IMAGE, routesFile: GATEWAY_ROUTES_FILE, port: GATEWAY_PORT });
  } catch (err) {
    throw new UserError('TEMPLATE_FAILED', `${file}: ${(err as Error).message}`, 'reinstall modelfleet (templates/ ships with it), or fix the Handlebars syntax of that template', { cause: err });
  }
}
