import { modelJsonSchema, type ModelJson } from '../../generator/plan/model-json.js';
import { modelFolderPaths } from './model-folder-paths.js';
import { readRecordFile } from './record-file.js';

/** The folder's model.json as `generate` wrote it, or undefined when it is missing or unreadable. */
export async function readModelJson(outDir: string, deployName: string): Promise<ModelJson | undefined> {
  return readRecordFile(modelFolderPaths(outDir, deployName).modelJson, modelJsonSchema);
}
