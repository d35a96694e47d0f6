import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { baseImageFrom } from '../../lib/base-image.js';
import { CI_IMAGE_INSTALL_DIR, DEFAULT_CI_BASE_IMAGE, localCiImage } from '../../lib/ci-image.js';
import { UserError } from '../../lib/errors/user-error.js';
import { digestFiles, listFilesBelow } from '../../lib/file-digest.js';
import { findPackageRoot, packageVersion } from '../../lib/package-root.js';
import type { ImageBuildInputs } from './ensure-image.js';
import { digestCanonicalJson } from './image-tag.js';
import { prepareRuntimeDependencies } from './prepare-runtime-dependencies.js';

/** Label keys on the CI image. */
export const CI_IMAGE_LABELS = {
  component: 'io.modelfleet.component',
  version: 'io.modelfleet.version',
  contentDigest: 'io.modelfleet.content-digest',
} as const;

export interface CiImageInputs extends ImageBuildInputs {
  readonly version: string;
  /** `sha256:...` of everything the image is made of. */
  readonly contentDigest: string;
}

export interface PrepareCiImageInputsOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly packageRoot?: string;
  readonly cacheDir?: string;
}

/** Package files a job needs; README and docs stay out. */
const NOT_IN_IMAGE = new Set(['docs/', 'docs', 'README.md']);

/**
 * Resolves the CI image's inputs: the whole production dependency tree (every command, not only
 * `serve`), the package's own files as npm ships them (package.json `files`), and a `modelfleet`
 * launcher. Tagged `modelfleet/ci:<version>`; the content digest label tells a stale local
 * build of the same version from a current one.
 */
export async function prepareCiImageInputs(options: PrepareCiImageInputsOptions = {}): Promise<CiImageInputs> {
  const env = options.env ?? process.env;
  const packageRoot = options.packageRoot ?? findPackageRoot();
  const manifest = JSON.parse(await readFile(join(packageRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; files?: string[] };
  const version = packageVersion(packageRoot);
  const runtime = await prepareRuntimeDependencies({
    packageRoot,
    packages: Object.keys(manifest.dependencies ?? {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
  const entries = ['package.json', ...(manifest.files ?? []).filter((entry) => !entry.startsWith('!') && !NOT_IN_IMAGE.has(entry) && existsSync(join(packageRoot, entry)))];
  // Source maps point at sources the package does not ship.
  const appFiles = (await listFilesBelow(packageRoot, entries)).filter((file) => !file.endsWith('.map'));
  if (!appFiles.includes('dist/cli/entry.js')) {
    throw new UserError('BUILD_NOT_COMPILED', `${join(packageRoot, 'dist')} holds no compiled CLI; the CI image copies it from there`, 'run `npm run build` in the modelfleet folder (an installed package ships it compiled)');
  }
  const launcherDir = await writeLauncher(runtime.dir);
  const dockerfile = await renderCiDockerfile(packageRoot);
  const baseImage = baseImageFrom(env, DEFAULT_CI_BASE_IMAGE);
  const buildArgs = { BASE_IMAGE: baseImage };
  const contentDigest = `sha256:${digestCanonicalJson({
    component: 'ci',
    version,
    dockerfile,
    baseImage,
    runtimeDependenciesKey: runtime.key,
    packageDigest: await digestFiles(packageRoot, appFiles),
    launcher: LAUNCHER,
  })}`;
  return {
    version,
    contentDigest,
    tag: localCiImage(version),
    baseImage,
    dockerfile,
    buildArgs: { ...buildArgs, VERSION: version, CONTENT_DIGEST: contentDigest },
    labels: { [CI_IMAGE_LABELS.component]: 'ci', [CI_IMAGE_LABELS.version]: version, [CI_IMAGE_LABELS.contentDigest]: contentDigest },
    contextParts: [
      { from: runtime.dir, to: 'runtime', entries: ['node_modules'] },
      { from: packageRoot, to: 'app', entries: appFiles },
      { from: launcherDir, to: 'launcher' },
    ],
  };
}

/**
 * A CommonJS file (no package.json marks /usr/local/bin as ESM), so a dynamic import loads the
 * ESM CLI. Node's own path, not `/usr/bin/env node`: the offline base image has no env; the
 * official Node images and modelfleet/base:local both install node there.
 */
const LAUNCHER = `#!/usr/local/bin/node\n// \`modelfleet\` on PATH in the CI image; the package is in ${CI_IMAGE_INSTALL_DIR}.\nimport('${CI_IMAGE_INSTALL_DIR}/bin/modelfleet.js');\n`;

async function writeLauncher(besideDir: string): Promise<string> {
  const dir = `${besideDir}-ci-launcher`;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'modelfleet'), LAUNCHER);
  await chmod(join(dir, 'modelfleet'), 0o755);
  return dir;
}

async function renderCiDockerfile(packageRoot: string): Promise<string> {
  const file = join(packageRoot, 'image-templates', 'ci', 'Dockerfile.hbs');
  try {
    const render = Handlebars.create().compile(await readFile(file, 'utf8'), { noEscape: true, strict: true });
    return render({ defaultBaseImage: DEFAULT_CI_BASE_IMAGE, installDir: CI_IMAGE_INSTALL_DIR });
  } catch (err) {
    throw new UserError('TEMPLATE_FAILED', `${file}: ${(err as Error).message}`, 'reinstall modelfleet (image-templates/ ships with it), or fix the Handlebars syntax of that template', { cause: err });
  }
}
