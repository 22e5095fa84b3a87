// The models this project ships (models/<name>/<version>/model.onnx + model.json), published to the demo's
// repository the way a user does with `linesight models publish … --metadata model.json`.
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../paths';
import { RepoApiError, type RepoClient } from '../../repo/client';

export const MODELS_DIR = path.join(PACKAGE_ROOT, 'models');

export function shippedModelFiles(name: string, version: string, dir = MODELS_DIR): { artifact: string; metadata: string } | undefined {
  const artifact = path.join(dir, name, version, 'model.onnx');
  const metadata = path.join(dir, name, version, 'model.json');
  return fs.existsSync(artifact) && fs.existsSync(metadata) ? { artifact, metadata } : undefined;
}

/** Publishes a shipped model version unless the repository has it already; false when it was there. */
export async function publishShippedModel(client: RepoClient, name: string, version: string, dir = MODELS_DIR): Promise<boolean> {
  const files = shippedModelFiles(name, version, dir);
  if (!files) throw new Error(`models/${name}/${version} has no model.onnx and model.json`);
  try {
    await client.getModelVersion(name, version);
    return false;
  } catch (err) {
    if (!(err instanceof RepoApiError && err.status === 404)) throw err;
  }
  const metadata = JSON.parse(fs.readFileSync(files.metadata, 'utf8'));
  await client.publishModel(name, files.artifact, { version, format: 'onnx', metadata, ...(typeof metadata.changelog === 'string' ? { changelog: metadata.changelog } : {}) });
  return true;
}
