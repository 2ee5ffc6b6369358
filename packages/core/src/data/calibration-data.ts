import type { Stats } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { QuantkitError } from '../errors/quantkit-error.js';
import { parseNpy } from './npy.js';
import type { NpyArray, NpyDtype } from './npy.js';
import { readNpz } from './npz.js';
import { standardNormal } from './random.js';

/** A model input as calibration data must match it. Symbolic dims are strings (`'batch'`), unknown dims undefined. */
export interface InputSpec {
  name: string;
  dtype: NpyDtype;
  shape: readonly (number | string | undefined)[];
}

/** One calibration sample: one array per model input. */
export interface Sample {
  /** The file name (`input_003.npz`), or `random#3` for generated data (3 = index in the unsharded source). */
  id: string;
  inputs: Map<string, NpyArray>;
}

/**
 * Calibration samples, streamed: `samples()` reads one sample at a time, checks it against the model inputs and
 * yields it, so only one sample is in memory. Each call to `samples()` starts again from the first sample.
 */
export interface CalibrationSource {
  /** For logs, e.g. `16 .npy files in calib/`. */
  readonly description: string;
  /** Number of samples `samples()` yields (of this shard). */
  readonly count: number;
  samples(): AsyncIterable<Sample>;
}

export type CalibrationSpec = { kind: 'dir' | 'file'; path: string } | { kind: 'random'; count: number; seed?: number };

/**
 * Shard `index` of `count` (0 <= index < count) holds the samples whose position i in the full, name-sorted source
 * satisfies i % count === index (round robin). The shards of one source partition it exactly; their sizes differ
 * by at most one, and a shard is empty when count exceeds the number of samples.
 */
export interface Shard {
  index: number;
  count: number;
}

export interface CalibrationSourceOptions {
  shard?: Shard;
}

type FileFormat = 'npy' | 'npz';

/** The numpy call that writes one sample for these inputs, e.g. `numpy.savez(path, input=array)`. */
function savezCall(inputs: readonly InputSpec[]): string {
  const identifiers = inputs.every((input) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(input.name));
  const args = identifiers
    ? inputs.map((input) => `${input.name}=array`).join(', ')
    : `**{${inputs.map((input) => `${JSON.stringify(input.name)}: array`).join(', ')}}`;
  return `numpy.savez(path, ${args})`;
}

function calibError(subject: string, message: string, hint: string, cause?: unknown): QuantkitError {
  return new QuantkitError('QK_CALIB_DATA', message, { subject, hint, cause });
}

/**
 * Opens calibration data for a model with `inputs`:
 * 1. `dir`: a folder of `.npy` files (one sample each; single-input models only) or of `.npz` files (one array per
 *    model input, named after it), in code-unit order of file name. Dot-files and subfolders are ignored.
 * 2. `file`: one `.npy` or `.npz` file, one sample.
 * 3. `random`: `count` samples of seeded N(0, 1) data (seed 0 by default) for float inputs with fixed shapes.
 *
 * Opening lists the files but does not read them; each sample is read and checked when `samples()` reaches it (see
 * {@link checkSample}). Call {@link validateCalibrationSource} to check every sample up front.
 */
export async function openCalibrationSource(
  spec: CalibrationSpec,
  inputs: readonly InputSpec[],
  options: CalibrationSourceOptions = {},
): Promise<CalibrationSource> {
  if (inputs.length === 0) throw new QuantkitError('QK_USAGE', 'Calibration needs a model with at least one input');
  const shard = options.shard ?? { index: 0, count: 1 };
  checkShard(shard);
  if (spec.kind === 'random') return randomSource(spec.count, spec.seed ?? 0, inputs, shard);

  const { files, format } =
    spec.kind === 'dir' ? await listFolder(spec.path, inputs) : await checkFile(spec.path, inputs);
  if (format === 'npy' && inputs.length > 1) {
    const names = inputs.map((input) => `'${input.name}'`).join(', ');
    throw calibError(
      spec.path,
      `Calibration data ${spec.path} is .npy, which holds one tensor, but the model has ${inputs.length} inputs (${names})`,
      `Save each sample as an .npz file with one array per input: ${savezCall(inputs)}.`,
    );
  }
  const selected = files.filter((_, i) => i % shard.count === shard.index);
  const what =
    spec.kind === 'dir' ? `${files.length} .${format} file${files.length === 1 ? '' : 's'} in ${spec.path}` : spec.path;
  return {
    description: what + shardSuffix(shard, selected.length),
    count: selected.length,
    async *samples() {
      for (const file of selected) {
        const bytes = await readSampleFile(file);
        const arrays = format === 'npz' ? readNpz(bytes, file) : new Map([[inputs[0]!.name, parseNpy(bytes, file)]]);
        checkSample(arrays, inputs, file);
        yield { id: basename(file), inputs: arrays };
      }
    },
  };
}

/** Reads every sample of `source` once, so that bad data fails before any output is written. Returns the count. */
export async function validateCalibrationSource(source: CalibrationSource): Promise<number> {
  let count = 0;
  // Reading a sample checks it; the data itself is dropped at once.
  for await (const _sample of source.samples()) count++;
  return count;
}

/**
 * Checks one sample against the model inputs, in this order, throwing `QK_CALIB_DATA` naming `sample` (a file name)
 * and the tensor: every input present; no array that is not an input; dtypes equal (never converted); same rank and,
 * for numeric dims, same size (symbolic dims accept any size); every float value finite.
 */
export function checkSample(arrays: ReadonlyMap<string, NpyArray>, inputs: readonly InputSpec[], sample: string): void {
  const found = [...arrays.keys()].map((key) => `'${key}'`).join(', ') || 'no arrays';
  const inputNames = inputs.map((input) => `'${input.name}'`).join(', ');
  for (const input of inputs) {
    if (!arrays.has(input.name)) {
      throw calibError(
        sample,
        `Calibration sample ${sample} has no array for model input '${input.name}' (it holds ${found})`,
        `Name each array after the model input it feeds: ${savezCall(inputs)}.`,
      );
    }
  }
  const known = new Set(inputs.map((input) => input.name));
  const extra = [...arrays.keys()].filter((key) => !known.has(key));
  if (extra.length > 0) {
    throw calibError(
      sample,
      `Calibration sample ${sample} holds ${extra.map((key) => `'${key}'`).join(', ')}, which ${
        extra.length === 1 ? 'is not a model input' : 'are not model inputs'
      } (model inputs: ${inputNames})`,
      'Remove the extra arrays, or rename them after the model inputs they are meant for.',
    );
  }
  for (const input of inputs) {
    const array = arrays.get(input.name)!;
    const tensor = `Calibration sample ${sample}: tensor '${input.name}'`;
    if (array.dtype !== input.dtype) {
      throw calibError(
        sample,
        `${tensor} is ${array.dtype} but the model input is ${input.dtype}; quantkit does not convert calibration data`,
        `Save the array as ${input.dtype}, e.g. array.astype(numpy.${input.dtype === 'bool' ? 'bool_' : input.dtype}).`,
      );
    }
    checkShape(array.shape, input, tensor, sample);
    checkFinite(array, tensor, sample);
  }
}

function checkShape(shape: readonly number[], input: InputSpec, tensor: string, sample: string): void {
  const expected = `[${input.shape.map((dim) => (dim === undefined ? '?' : String(dim))).join(', ')}]`;
  const actual = `[${shape.join(', ')}]`;
  if (shape.length !== input.shape.length) {
    throw calibError(
      sample,
      `${tensor} has shape ${actual} (rank ${shape.length}) but the model input has shape ${expected} (rank ${input.shape.length})`,
      'Save each sample with exactly the shape of the model input.',
    );
  }
  input.shape.forEach((dim, axis) => {
    if (typeof dim !== 'number' || dim === shape[axis]) return;
    const batch = axis === 0 && shape.length > 1;
    throw calibError(
      sample,
      `${tensor} has shape ${actual} but the model input has shape ${expected}: ${
        batch ? 'batch dimension (axis 0)' : `axis ${axis}`
      } is ${shape[axis]}, expected ${dim}`,
      batch
        ? `The model takes a batch of ${dim}; save one file per batch of ${dim} instead of stacking samples.`
        : 'Save each sample with exactly the shape of the model input.',
    );
  });
}

function checkFinite(array: NpyArray, tensor: string, sample: string): void {
  if (array.dtype !== 'float32' && array.dtype !== 'float64') return;
  const { data } = array;
  let first = -1;
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    const value = data[i]!;
    // value - value is NaN exactly for NaN and ±Infinity, so one comparison covers all three.
    if (value - value !== 0) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (first < 0) return;
  const value = data[first]!;
  const index = `[${unravel(first, array.shape).join(', ')}]`;
  throw calibError(
    sample,
    `${tensor} contains ${
      Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf'
    } at index ${index} (flat index ${first}; ${bad} non-finite value${bad === 1 ? '' : 's'} in total)`,
    'Fix or remove this sample: calibration needs finite values.',
  );
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  let rest = flat;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const dim = shape[axis]!;
    index[axis] = rest % dim;
    rest = Math.floor(rest / dim);
  }
  return index;
}

function checkShard(shard: Shard): void {
  if (
    !Number.isSafeInteger(shard.count) ||
    shard.count < 1 ||
    !Number.isSafeInteger(shard.index) ||
    shard.index < 0 ||
    shard.index >= shard.count
  ) {
    throw new QuantkitError('QK_USAGE', `Invalid calibration shard ${shard.index} of ${shard.count}`, {
      hint: 'The shard count must be a positive integer and the shard index an integer from 0 to count - 1.',
    });
  }
}

function shardSuffix(shard: Shard, count: number): string {
  return shard.count === 1 ? '' : ` (shard ${shard.index} of ${shard.count}: ${count} sample${count === 1 ? '' : 's'})`;
}

function formatOf(path: string): FileFormat | undefined {
  const lower = path.toLowerCase();
  return lower.endsWith('.npy') ? 'npy' : lower.endsWith('.npz') ? 'npz' : undefined;
}

async function statOrThrow(path: string, what: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new QuantkitError('QK_FILE_NOT_FOUND', `Calibration ${what} ${path} does not exist`, {
        subject: path,
        cause: error,
        hint: 'Check the path of the calibration data.',
      });
    }
    throw new QuantkitError('QK_FILE_READ', `Cannot read calibration ${what} ${path}: ${(error as Error).message}`, {
      subject: path,
      cause: error,
    });
  }
}

async function listFolder(
  folder: string,
  inputs: readonly InputSpec[],
): Promise<{ files: string[]; format: FileFormat }> {
  const info = await statOrThrow(folder, 'folder');
  if (!info.isDirectory()) {
    throw calibError(
      folder,
      `Calibration folder ${folder} is a file, not a folder`,
      'Pass it as a calibration file instead.',
    );
  }
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new QuantkitError('QK_FILE_READ', `Cannot list calibration folder ${folder}: ${(error as Error).message}`, {
      subject: folder,
      cause: error,
    });
  }
  const byFormat: Record<FileFormat, string[]> = { npy: [], npz: [] };
  for (const entry of entries) {
    const format = formatOf(entry.name);
    // Dot-files include macOS `._name.npy` resource forks, which are not arrays.
    if (format === undefined || entry.name.startsWith('.') || !(entry.isFile() || entry.isSymbolicLink())) continue;
    byFormat[format].push(entry.name);
  }
  if (byFormat.npy.length > 0 && byFormat.npz.length > 0) {
    throw calibError(
      folder,
      `Calibration folder ${folder} mixes ${byFormat.npy.length} .npy and ${byFormat.npz.length} .npz files`,
      'Keep one format per folder: .npy for single-input models, .npz (one array per input) otherwise.',
    );
  }
  const format: FileFormat = byFormat.npz.length > 0 ? 'npz' : 'npy';
  const names = byFormat[format];
  if (names.length === 0) {
    throw calibError(
      folder,
      `Calibration folder ${folder} holds no .npy or .npz files`,
      inputs.length === 1
        ? `Save one sample per file: numpy.save(path, array) or ${savezCall(inputs)}.`
        : `Save one sample per file: ${savezCall(inputs)}.`,
    );
  }
  // Code-unit order, not localeCompare: the order (and so the sharding) must not depend on the machine's locale.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files: names.map((name) => join(folder, name)), format };
}

async function checkFile(path: string, inputs: readonly InputSpec[]): Promise<{ files: string[]; format: FileFormat }> {
  const info = await statOrThrow(path, 'file');
  if (info.isDirectory()) {
    throw calibError(path, `Calibration file ${path} is a folder`, 'Pass it as a calibration folder instead.');
  }
  const format = formatOf(path);
  if (format === undefined) {
    throw calibError(
      path,
      `Calibration file ${path} is neither .npy nor .npz`,
      inputs.length === 1
        ? `Save the sample with numpy.save(path, array) or ${savezCall(inputs)}.`
        : `Save the sample with ${savezCall(inputs)}.`,
    );
  }
  return { files: [path], format };
}

async function readSampleFile(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const notFound = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantkitError(
      notFound ? 'QK_FILE_NOT_FOUND' : 'QK_FILE_READ',
      notFound
        ? `Calibration file ${file} disappeared after the calibration data was opened`
        : `Cannot read calibration file ${file}: ${(error as Error).message}`,
      { subject: file, cause: error },
    );
  }
  if (bytes.length === 0) {
    throw new QuantkitError('QK_FILE_EMPTY', `Calibration file ${file} is empty`, {
      subject: file,
      hint: 'Write the sample again, or remove the file.',
    });
  }
  return bytes;
}

function randomSource(count: number, seed: number, inputs: readonly InputSpec[], shard: Shard): CalibrationSource {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new QuantkitError(
      'QK_USAGE',
      `The number of random calibration samples must be a positive integer, got ${count}`,
    );
  }
  if (!Number.isSafeInteger(seed)) {
    throw new QuantkitError('QK_USAGE', `The random calibration seed must be an integer, got ${seed}`);
  }
  const shapes = inputs.map((input) => {
    if (input.dtype !== 'float32' && input.dtype !== 'float64') {
      throw calibError(
        input.name,
        `Random calibration data needs float inputs, but model input '${input.name}' is ${input.dtype}`,
        'Pass real calibration data (a folder of .npy or .npz files).',
      );
    }
    return input.shape.map((dim, axis) => {
      if (typeof dim === 'number') return dim;
      throw calibError(
        input.name,
        `Random calibration data needs fixed shapes, but model input '${input.name}' has ${
          dim === undefined ? 'an unknown' : `symbolic dimension '${dim}' at`
        } axis ${axis}`,
        `Fix its sizes with --input-shape ${input.name}=${input.shape.map((d) => (typeof d === 'number' ? d : 'D')).join('x')}, or pass real calibration data (a folder of .npy or .npz files).`,
      );
    });
  });
  const indices = Array.from({ length: count }, (_, i) => i).filter((i) => i % shard.count === shard.index);
  return {
    description: `${count} random N(0, 1) sample${count === 1 ? '' : 's'} (seed ${seed})${shardSuffix(
      shard,
      indices.length,
    )}`,
    count: indices.length,
    async *samples() {
      for (const i of indices) {
        // One stream per sample index: sample i is the same whatever the sharding.
        const normal = standardNormal(seed, i);
        const arrays = new Map<string, NpyArray>();
        inputs.forEach((input, k) => {
          const shape = shapes[k]!;
          const length = shape.reduce((a, b) => a * b, 1);
          arrays.set(
            input.name,
            input.dtype === 'float64'
              ? { dtype: 'float64', shape, data: normal.fill(new Float64Array(length)) }
              : { dtype: 'float32', shape, data: normal.fill(new Float32Array(length)) },
          );
        });
        yield { id: `random#${i}`, inputs: arrays };
      }
    },
  };
}
