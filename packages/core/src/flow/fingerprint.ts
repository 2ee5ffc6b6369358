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
  for (const name of sampleFileNames(spec.path)) {
    hash.update(`${name}\0`);
    hash.update(fs.readFileSync(path.join(spec.path, name)));
  }
  return hash.digest('hex');
}

/** The sample files of a calibration folder, in code-unit order (what calibration reads). */
function sampleFileNames(folder: string): string[] {
  return fs
    .readdirSync(folder)
    .filter((name) => !name.startsWith('.') && (name.endsWith('.npy') || name.endsWith('.npz')))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * What identifies the calibration data across the shards of one run, cheaply: the sample files' names and sizes
 * (a folder), the file's name and size (one file), or the random spec — not the bytes, which every shard would
 * otherwise read in full although it calibrates on a slice of them. The folder's path is left out: pods and tasks
 * may mount the same data at different paths. A sample rewritten with the same size goes unnoticed.
 */
export function calibrationListing(spec: CalibrationSpec): string {
  if (spec.kind === 'random') return `random ${spec.count} (seed ${spec.seed ?? 0})`;
  if (spec.kind === 'file') return `${path.basename(spec.path)} (${fs.statSync(spec.path).size} bytes)`;
  const names = sampleFileNames(spec.path);
  const hash = createHash('sha256');
  for (const name of names) hash.update(`${name}\0${fs.statSync(path.join(spec.path, name)).size}\0`);
  return `${names.length} sample files, names and sizes sha256 ${hash.digest('hex')}`;
}
