import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A model from ../shared/models (the large ones are not committed; ../../shared/models from a worktree under
 * wt/), else from fixtures/models.
 */
export function modelPath(name) {
  const folders = [path.resolve(root, '../shared/models', name), path.resolve(root, '../../shared/models', name)];
  for (const folder of [...folders, path.join(root, 'fixtures/models', name)]) {
    const file = path.join(folder, 'model.onnx');
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`benchmark model ${name} not found in ../shared/models or fixtures/models`);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
