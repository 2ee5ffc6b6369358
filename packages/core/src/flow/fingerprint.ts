import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CalibrationSpec } from '../data/calibration-data.js';

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A fingerprint of the calibration data, for reproducibility: the sha256 over the sorted sample file names and
 * their bytes (a folder), the file's bytes (one file), or the random spec.
 */
export function calibrationFingerprint(spec: CalibrationSpec): string {
  if (spec.kind === 'random') return sha256(`random:count=${spec.count}:seed=${spec.seed ?? 0}`);
  if (spec.kind === 'file') return sha256(fs.readFileSync(spec.path));
  const hash = createHash('sha256');
  const names = fs
    .readdirSync(spec.path)
    .filter((name) => !name.startsWith('.') && (name.endsWith('.npy') || name.endsWith('.npz')))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    hash.update(`${name}\0`);
    hash.update(fs.readFileSync(path.join(spec.path, name)));
  }
  return hash.digest('hex');
}
