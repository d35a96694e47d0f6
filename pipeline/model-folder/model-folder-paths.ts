import { join } from 'node:path';

/** Every file of `build/models/<deployName>/` that a job reads or writes, named in one place. */
export interface ModelFolderPaths {
  readonly dir: string;
  /** The resolved entry (generate). */
  readonly modelJson: string;
  /** The rendered Dockerfile (generate). */
  readonly dockerfile: string;
  /** What build made or found (build). */
  readonly imageJson: string;
  /** What the load test measured (test). */
  readonly sizingJson: string;
  /** report.json, junit.xml, report.html (test). */
  readonly reportDir: string;
  /** The manifests applied (deploy). */
  readonly k8sDir: string;
  /** A registry model's downloaded MLflow folder (build). */
  readonly downloadedModelDir: string;
}

export function modelFolderPaths(outDir: string, deployName: string): ModelFolderPaths {
  const dir = join(outDir, 'models', deployName);
  return {
    dir,
    modelJson: join(dir, 'model.json'),
    dockerfile: join(dir, 'Dockerfile'),
    imageJson: join(dir, 'image.json'),
    sizingJson: join(dir, 'sizing.json'),
    reportDir: join(dir, 'report'),
    k8sDir: join(dir, 'k8s'),
    downloadedModelDir: join(dir, 'model'),
  };
}

/** `build/gateway/`: the gateway's image record and rendered manifests. */
export function gatewayFolder(outDir: string): { readonly dir: string; readonly imageJson: string; readonly k8sDir: string } {
  const dir = join(outDir, 'gateway');
  return { dir, imageJson: join(dir, 'image.json'), k8sDir: join(dir, 'k8s') };
}
