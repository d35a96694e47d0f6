import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RenderedManifest } from '../manifests/render-model-manifests.js';
import type { Sizing } from '../sizing/sizing-policy.js';
import type { LoadtestReport } from './loadtest-report.js';
import { renderJunit } from './render-junit.js';
import { renderReportHtml } from './render-report-html.js';

export interface LoadtestOutput {
  readonly report: LoadtestReport;
  /** Only for a passing test: a failed test must not leave manifests that look deployable. */
  readonly sizing?: Sizing;
  readonly manifests?: readonly RenderedManifest[];
}

export interface WrittenOutput {
  readonly reportDir: string;
  readonly sizingFile: string | undefined;
  readonly manifestDir: string | undefined;
}

/**
 * Writes build/models/<name>/report/ (always), and sizing.json and k8s/ (when given). Each
 * folder is written next to its final place and renamed over it, so a crash midway leaves the
 * previous output whole.
 */
export async function writeLoadtestOutput(modelDir: string, output: LoadtestOutput): Promise<WrittenOutput> {
  await mkdir(modelDir, { recursive: true });
  const reportDir = join(modelDir, 'report');
  await replaceDir(reportDir, {
    'report.json': `${JSON.stringify(output.report, null, 2)}\n`,
    'junit.xml': renderJunit(output.report),
    'report.html': renderReportHtml(output.report),
  });
  let sizingFile: string | undefined;
  let manifestDir: string | undefined;
  if (output.manifests) {
    manifestDir = join(modelDir, 'k8s');
    await replaceDir(manifestDir, Object.fromEntries(output.manifests.map((m) => [m.file, m.yaml])));
  }
  if (output.sizing) {
    sizingFile = join(modelDir, 'sizing.json');
    const temp = `${sizingFile}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, `${JSON.stringify(output.sizing, null, 2)}\n`);
    await rename(temp, sizingFile);
  }
  return { reportDir, sizingFile, manifestDir };
}

async function replaceDir(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  const temp = `${dir}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(temp, { recursive: true });
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(temp, name), content);
    const old = `${dir}.${randomBytes(4).toString('hex')}.old`;
    await rename(dir, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(temp, dir);
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}
