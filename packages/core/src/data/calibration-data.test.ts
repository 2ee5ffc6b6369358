import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { checkSample, openCalibrationSource, validateCalibrationSource } from './calibration-data.js';
import type { CalibrationSource, InputSpec, Sample } from './calibration-data.js';
import { encodeNpy } from './npy.js';
import type { NpyArray } from './npy.js';
import { encodeNpz } from './npz.js';

const image: InputSpec = { name: 'input', dtype: 'float32', shape: [1, 3, 2, 2] };
const ids: InputSpec = { name: 'token_ids', dtype: 'int64', shape: ['batch', 4] };

function f32(shape: number[], fill: (i: number) => number = (i) => i): NpyArray {
  const size = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', shape, data: Float32Array.from({ length: size }, (_, i) => fill(i)) };
}
const tokens = (batch: number): NpyArray => ({
  dtype: 'int64',
  shape: [batch, 4],
  data: new BigInt64Array(batch * 4).fill(3n),
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'quantkit-calib-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(source: CalibrationSource): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of source.samples()) samples.push(sample);
  return samples;
}

async function rejection(promise: Promise<unknown>, code: ErrorCode = 'QK_CALIB_DATA'): Promise<QuantkitError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(QuantkitError);
  expect((error as QuantkitError).code).toBe(code);
  return error as QuantkitError;
}

describe('openCalibrationSource: folders and files', () => {
  it('1. reads a folder of .npy files in name order, one sample each', async () => {
    for (const k of [2, 0, 1]) await writeFile(join(dir, `input_${k}.npy`), encodeNpy(f32([1, 3, 2, 2], () => k)));
    await writeFile(join(dir, 'notes.txt'), 'not data');
    await writeFile(join(dir, '._input_0.npy'), 'macOS resource fork');
    await mkdir(join(dir, 'sub.npy'));
    const source = await openCalibrationSource({ kind: 'dir', path: dir }, [image]);
    expect(source.count).toBe(3);
    expect(source.description).toBe(`3 .npy files in ${dir}`);
    const samples = await collect(source);
    expect(samples.map((sample) => sample.id)).toEqual(['input_0.npy', 'input_1.npy', 'input_2.npy']);
    expect(samples.map((sample) => sample.inputs.get('input')!.data[0])).toEqual([0, 1, 2]);
  });

  it('1. reads a folder of .npz files keyed by input name', async () => {
    await writeFile(join(dir, 'a.npz'), encodeNpz({ input: f32([1, 3, 2, 2]), token_ids: tokens(2) }));
    await writeFile(
      join(dir, 'b.npz'),
      encodeNpz({ token_ids: tokens(5), input: f32([1, 3, 2, 2]) }, { compress: true }),
    );
    const samples = await collect(await openCalibrationSource({ kind: 'dir', path: dir }, [image, ids]));
    expect(samples.map((sample) => sample.id)).toEqual(['a.npz', 'b.npz']);
    expect(samples[1]!.inputs.get('token_ids')!.shape).toEqual([5, 4]); // symbolic dim accepts any size
    expect([...samples[0]!.inputs.keys()].sort()).toEqual(['input', 'token_ids']);
  });

  it('2. reads a single .npy or .npz file as one sample', async () => {
    const npy = join(dir, 'one.npy');
    const npz = join(dir, 'one.npz');
    await writeFile(npy, encodeNpy(f32([1, 3, 2, 2])));
    await writeFile(npz, encodeNpz({ input: f32([1, 3, 2, 2]) }));
    for (const path of [npy, npz]) {
      const source = await openCalibrationSource({ kind: 'file', path }, [image]);
      expect(source.count).toBe(1);
      expect(source.description).toBe(path);
      expect((await collect(source)).map((sample) => sample.inputs.get('input')!.shape)).toEqual([[1, 3, 2, 2]]);
    }
  });

  it('rejects .npy data for a model with several inputs, pointing to .npz', async () => {
    await writeFile(join(dir, 'x.npy'), encodeNpy(f32([1, 3, 2, 2])));
    for (const spec of [{ kind: 'dir', path: dir } as const, { kind: 'file', path: join(dir, 'x.npy') } as const]) {
      const error = await rejection(openCalibrationSource(spec, [image, ids]));
      expect(error.message).toMatch(
        /is \.npy, which holds one tensor, but the model has 2 inputs \('input', 'token_ids'\)/,
      );
      expect(error.hint).toMatch(/\.npz/);
    }
  });

  it('rejects a folder without samples, naming it', async () => {
    let error = await rejection(openCalibrationSource({ kind: 'dir', path: dir }, [image]));
    expect(error.message).toBe(`Calibration folder ${dir} holds no .npy or .npz files`);
    await writeFile(join(dir, 'readme.txt'), '');
    error = await rejection(openCalibrationSource({ kind: 'dir', path: dir }, [image]));
    expect(error.subject).toBe(dir);
  });

  it('rejects a folder mixing .npy and .npz', async () => {
    await writeFile(join(dir, 'a.npy'), encodeNpy(f32([1, 3, 2, 2])));
    await writeFile(join(dir, 'b.npz'), encodeNpz({ input: f32([1, 3, 2, 2]) }));
    expect((await rejection(openCalibrationSource({ kind: 'dir', path: dir }, [image]))).message).toMatch(
      /mixes 1 \.npy and 1 \.npz/,
    );
  });

  it('reports missing paths, wrong kinds, other extensions and empty files', async () => {
    const missing = join(dir, 'nope');
    const notFound = await rejection(
      openCalibrationSource({ kind: 'dir', path: missing }, [image]),
      'QK_FILE_NOT_FOUND',
    );
    expect(notFound.message).toContain(missing);
    await rejection(openCalibrationSource({ kind: 'file', path: missing }, [image]), 'QK_FILE_NOT_FOUND');
    expect((await rejection(openCalibrationSource({ kind: 'file', path: dir }, [image]))).message).toMatch(
      /is a folder/,
    );
    await writeFile(join(dir, 'x.bin'), 'data');
    expect(
      (await rejection(openCalibrationSource({ kind: 'dir', path: join(dir, 'x.bin') }, [image]))).message,
    ).toMatch(/is a file, not a folder/);
    expect(
      (await rejection(openCalibrationSource({ kind: 'file', path: join(dir, 'x.bin') }, [image]))).message,
    ).toMatch(/neither \.npy nor \.npz/);
    await writeFile(join(dir, 'empty.npy'), '');
    const source = await openCalibrationSource({ kind: 'file', path: join(dir, 'empty.npy') }, [image]);
    expect((await rejection(collect(source), 'QK_FILE_EMPTY')).message).toContain('empty.npy');
  });

  it('wraps parse errors with the file name', async () => {
    await writeFile(join(dir, 'broken.npy'), encodeNpy(f32([1, 3, 2, 2])).subarray(0, 100));
    const source = await openCalibrationSource({ kind: 'dir', path: dir }, [image]);
    expect((await rejection(collect(source))).message).toBe(
      `${join(dir, 'broken.npy')}: is truncated: the .npy header needs 128 bytes but the file has 100`,
    );
  });
});

describe('per-sample checks', () => {
  const file = 'calib/sample_3.npz';
  const check = (arrays: Record<string, NpyArray>, inputs: InputSpec[] = [image, ids]): QuantkitError => {
    try {
      checkSample(new Map(Object.entries(arrays)), inputs, file);
    } catch (error) {
      expect(error).toBeInstanceOf(QuantkitError);
      expect((error as QuantkitError).code).toBe('QK_CALIB_DATA');
      expect((error as QuantkitError).subject).toBe(file);
      return error as QuantkitError;
    }
    throw new Error('checkSample did not throw');
  };

  it('accepts a matching sample', () => {
    expect(() =>
      checkSample(
        new Map([
          ['input', f32([1, 3, 2, 2])],
          ['token_ids', tokens(1)],
        ]),
        [image, ids],
        file,
      ),
    ).not.toThrow();
  });

  it('a missing input names the file, the input and the keys found', () => {
    const error = check({ input: f32([1, 3, 2, 2]), ids: tokens(1) });
    expect(error.message).toBe(
      `Calibration sample ${file} has no array for model input 'token_ids' (it holds 'input', 'ids')`,
    );
    expect(error.hint).toContain('numpy.savez(path, input=array, token_ids=array)');
  });

  it('hints name inputs that are not Python identifiers as a dict', () => {
    const odd: InputSpec = { name: 'input.1', dtype: 'float32', shape: [2] };
    expect(check({}, [odd]).hint).toContain(`numpy.savez(path, **{"input.1": array})`);
  });

  it('an extra array is an error', () => {
    const error = check({ input: f32([1, 3, 2, 2]), token_ids: tokens(1), mask: tokens(1) });
    expect(error.message).toMatch(/holds 'mask', which is not a model input \(model inputs: 'input', 'token_ids'\)/);
  });

  it('float64 data for a float32 input is an error, never converted', () => {
    const data: NpyArray = { dtype: 'float64', shape: [1, 3, 2, 2], data: new Float64Array(12) };
    const error = check({ input: data }, [image]);
    expect(error.message).toBe(
      `Calibration sample ${file}: tensor 'input' is float64 but the model input is float32; quantkit does not convert calibration data`,
    );
    expect(error.hint).toContain('astype(numpy.float32)');
  });

  it('a batch dimension mismatch is an error', () => {
    const error = check({ input: f32([4, 3, 2, 2]) }, [image]);
    expect(error.message).toMatch(
      /tensor 'input' has shape \[4, 3, 2, 2\] but the model input has shape \[1, 3, 2, 2\]: batch dimension \(axis 0\) is 4, expected 1/,
    );
    expect(error.hint).toMatch(/one file per batch of 1/);
  });

  it('other dimension and rank mismatches are errors; symbolic dims accept any size', () => {
    expect(check({ input: f32([1, 3, 2, 5]) }, [image]).message).toMatch(/axis 3 is 5, expected 2/);
    expect(check({ input: f32([3, 2, 2]) }, [image]).message).toMatch(
      /\(rank 3\) but the model input has shape \[1, 3, 2, 2\] \(rank 4\)/,
    );
    const free: InputSpec = { name: 'input', dtype: 'float32', shape: ['n', undefined, 2, 2] };
    expect(() => checkSample(new Map([['input', f32([7, 9, 2, 2])]]), [free], file)).not.toThrow();
    expect(check({ input: f32([7, 9, 2, 3]) }, [free]).message).toMatch(
      /shape \[n, \?, 2, 2\]: axis 3 is 3, expected 2/,
    );
  });

  it('NaN names the file, the tensor and the first bad index', () => {
    const data = f32([1, 3, 2, 2], (i) => (i === 7 || i === 10 ? Number.NaN : i));
    const error = check({ input: data }, [image]);
    expect(error.message).toBe(
      `Calibration sample ${file}: tensor 'input' contains NaN at index [0, 1, 1, 1] (flat index 7; 2 non-finite values in total)`,
    );
  });

  it('±Infinity is reported too, in float64 inputs as well', () => {
    const f64: InputSpec = { name: 'x', dtype: 'float64', shape: [3] };
    const inf = (value: number): NpyArray => ({ dtype: 'float64', shape: [3], data: new Float64Array([0, value, 1]) });
    expect(check({ x: inf(-Infinity) }, [f64]).message).toMatch(
      /tensor 'x' contains -Inf at index \[1\] \(flat index 1; 1 non-finite value in total\)/,
    );
    expect(check({ x: inf(Infinity) }, [f64]).message).toMatch(/contains \+Inf at index \[1\]/);
  });
});

describe('streaming and validation', () => {
  it('checks each sample when it is read, after yielding the good ones before it', async () => {
    await writeFile(join(dir, 'a.npy'), encodeNpy(f32([1, 3, 2, 2])));
    await writeFile(join(dir, 'b.npy'), encodeNpy(f32([1, 3, 2, 2], (i) => (i === 5 ? Number.NaN : 0))));
    await writeFile(join(dir, 'c.npy'), encodeNpy(f32([1, 3, 2, 2])));
    const source = await openCalibrationSource({ kind: 'dir', path: dir }, [image]);
    const seen: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const sample of source.samples()) seen.push(sample.id);
      })(),
    );
    expect(seen).toEqual(['a.npy']);
    expect(error.message).toContain(join(dir, 'b.npy'));
    expect(error.message).toContain("tensor 'input' contains NaN at index [0, 1, 0, 1]");

    const validation = await rejection(validateCalibrationSource(source));
    expect(validation.message).toBe(error.message);
  });

  it('validateCalibrationSource reads every sample and returns the count', async () => {
    for (const name of ['a', 'b', 'c']) await writeFile(join(dir, `${name}.npy`), encodeNpy(f32([1, 3, 2, 2])));
    const source = await openCalibrationSource({ kind: 'dir', path: dir }, [image]);
    expect(await validateCalibrationSource(source)).toBe(3);
    expect((await collect(source)).length).toBe(3); // samples() can be iterated again
  });
});

describe('shards', () => {
  it('partition the samples exactly, round robin, for every shard count', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `s${i}.npy`);
    for (const name of names) await writeFile(join(dir, name), encodeNpy(f32([1, 3, 2, 2])));
    for (let count = 1; count <= 9; count++) {
      const seen: string[] = [];
      for (let index = 0; index < count; index++) {
        const source = await openCalibrationSource({ kind: 'dir', path: dir }, [image], { shard: { index, count } });
        const ids = (await collect(source)).map((sample) => sample.id);
        expect(source.count).toBe(ids.length);
        expect(ids).toEqual(names.filter((_, i) => i % count === index));
        seen.push(...ids);
      }
      expect(seen.sort()).toEqual(names);
    }
  });

  it('describe themselves', async () => {
    await writeFile(join(dir, 'a.npy'), encodeNpy(f32([1, 3, 2, 2])));
    const source = await openCalibrationSource({ kind: 'dir', path: dir }, [image], { shard: { index: 1, count: 2 } });
    expect(source.description).toBe(`1 .npy file in ${dir} (shard 1 of 2: 0 samples)`);
  });

  it('reject invalid shard numbers', async () => {
    for (const shard of [
      { index: 2, count: 2 },
      { index: -1, count: 2 },
      { index: 0, count: 0 },
      { index: 0.5, count: 2 },
    ]) {
      await rejection(openCalibrationSource({ kind: 'random', count: 4 }, [image], { shard }), 'QK_USAGE');
    }
  });
});

describe('random calibration data', () => {
  const tensors = async (count: number, seed?: number, shard?: { index: number; count: number }): Promise<Sample[]> =>
    collect(
      await openCalibrationSource({ kind: 'random', count, ...(seed === undefined ? {} : { seed }) }, [image], {
        shard,
      }),
    );

  it('3. yields seeded N(0, 1) samples of each input shape', async () => {
    const source = await openCalibrationSource({ kind: 'random', count: 3 }, [
      image,
      { name: 'y', dtype: 'float64', shape: [5] },
    ]);
    expect(source.description).toBe('3 random N(0, 1) samples (seed 0)');
    const samples = await collect(source);
    expect(samples.map((sample) => sample.id)).toEqual(['random#0', 'random#1', 'random#2']);
    const first = samples[0]!.inputs;
    expect(first.get('input')).toMatchObject({ dtype: 'float32', shape: [1, 3, 2, 2] });
    expect(first.get('input')!.data).toHaveLength(12);
    expect(first.get('y')).toMatchObject({ dtype: 'float64', shape: [5] });
    expect(first.get('y')!.data).toBeInstanceOf(Float64Array);
  });

  it('is deterministic, depends on the seed (default 0), and a sample does not depend on sharding', async () => {
    const data = (samples: Sample[]): number[][] =>
      samples.map((sample) => Array.from(sample.inputs.get('input')!.data as Float32Array));
    const all = data(await tensors(4));
    expect(data(await tensors(4, 0))).toEqual(all);
    expect(data(await tensors(4, 1))).not.toEqual(all);
    expect(all[0]).not.toEqual(all[1]);
    expect(data(await tensors(4, 0, { index: 1, count: 2 }))).toEqual([all[1], all[3]]);
  });

  it('rejects symbolic dims and non-float inputs, asking for real data', async () => {
    const symbolic = await rejection(openCalibrationSource({ kind: 'random', count: 2 }, [ids]));
    expect(symbolic.message).toMatch(
      /Random calibration data needs float inputs, but model input 'token_ids' is int64/,
    );
    const dynamic: InputSpec = { name: 'input', dtype: 'float32', shape: ['batch', 3] };
    const error = await rejection(openCalibrationSource({ kind: 'random', count: 2 }, [dynamic]));
    expect(error.message).toBe(
      "Random calibration data needs fixed shapes, but model input 'input' has symbolic dimension 'batch' at axis 0",
    );
    expect(error.hint).toMatch(/real calibration data/);
  });

  it('rejects a bad count or seed', async () => {
    await rejection(openCalibrationSource({ kind: 'random', count: 0 }, [image]), 'QK_USAGE');
    await rejection(openCalibrationSource({ kind: 'random', count: 2, seed: 0.5 }, [image]), 'QK_USAGE');
  });
});
