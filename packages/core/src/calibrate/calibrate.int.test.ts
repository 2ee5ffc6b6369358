import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minMaxObserverFactory, mseObserverFactory } from '@quantkit/observers';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { CalibrationSource, Sample } from '../data/calibration-data.js';
import { parseNpy } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { GraphBuilder } from '../ir/builder.js';
import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { encodeModel } from '../onnx/encode.js';
import { loadModel } from '../onnx/files.js';
import { prepare } from '../prepare/prepare.js';
import { quantPlanOf, setQuantPlan, type ActivationDtype, type ActivationQuant } from '../prepare/quant-plan.js';
import type { Observer, ObserverFactory } from '../quant/observer.js';
import { calibrate, calibrationTargets } from './calibrate.js';
import { mergeCalibFiles, qparamsFor, readCalibFile, writeCalibFile } from './calibration-result.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const seedModel = join(fixtures, 'models/seed_small_single/model.onnx');
const seedCalib = join(fixtures, 'calib/seed');
const observerModule = new URL('../../../observers/src/index.ts', import.meta.url);
const work = mkdtempSync(join(tmpdir(), 'quantkit-calibrate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A hand-made plan (prepare() is not needed to test the runner): `[value, dtype, shareWith?]`. */
function withPlan(model: Model, entries: [string, ActivationDtype, string?][]): Model {
  const values = model.graph.valuesByName();
  const activations = new Map<Value, ActivationQuant>();
  for (const [name, dtype, share] of entries) {
    const value = values.get(name)!;
    activations.set(value, { value, dtype, ...(share === undefined ? {} : { shareWith: values.get(share)! }) });
  }
  setQuantPlan(model, { template: 'test', groups: [], activations, highPrecision: new Set(), float: new Set() });
  return model;
}

const SEED_ENTRIES: [string, ActivationDtype, string?][] = [
  ['input', 'qint16'],
  ['/linear1/Add_output_0', 'qint8'],
  ['/layernorm/LayerNormalization_output_0', 'qint16'],
  ['/relu/Relu_output_0', 'qint16', '/layernorm/LayerNormalization_output_0'],
  ['/linear2/Add_output_0', 'qint8'],
  ['z', 'qint16'],
];

async function seedPrepared(): Promise<Model> {
  return withPlan(await loadModel(seedModel), SEED_ENTRIES);
}

/** max |x| and min / max of every named tensor over the seed samples, by running the float model directly. */
async function referenceRanges(names: string[]): Promise<Map<string, { min: number; max: number; amax: number }>> {
  const model = cloneModel(await loadModel(seedModel));
  const values = model.graph.valuesByName();
  for (const name of names) {
    const value = values.get(name)!;
    if (value.producer() && !model.graph.outputs.includes(value)) {
      value.type = tensorType(DataType.FLOAT);
      model.graph.addOutput(value);
    }
  }
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
  const ranges = new Map(names.map((name) => [name, { min: Infinity, max: -Infinity, amax: 0 }]));
  for (const file of readdirSync(seedCalib).sort()) {
    const input = parseNpy(readFileSync(join(seedCalib, file)), file);
    const feeds = { input: new ort.Tensor('float32', input.data as Float32Array, input.shape) };
    const outputs = await session.run(feeds);
    for (const name of names) {
      const data = name === 'input' ? (input.data as Float32Array) : (outputs[name]!.data as Float32Array);
      const range = ranges.get(name)!;
      for (const x of data) {
        range.min = Math.min(range.min, x);
        range.max = Math.max(range.max, x);
        range.amax = Math.max(range.amax, Math.abs(x));
      }
    }
  }
  await session.release();
  return ranges;
}

/** A tiny model: x [1, 16] → MatMul → Relu → y, with its MatMul output and y observed. */
function tinyModel(op = 'Relu'): Model {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', DataType.FLOAT, [1, 16]);
  const weights = Float32Array.from({ length: 16 * 8 }, (_, i) => Math.sin(i) / 4);
  const w = b.initializer('w', Tensor.fromArray(weights, [16, 8]));
  const [h] = b.node('MatMul', [x, w], { name: 'mm', outputs: ['h'] });
  const [y] = b.node(op, [h], { name: 'act', outputs: ['y'] });
  b.output(y!, DataType.FLOAT, [1, 8]);
  return withPlan(b.model({ '': 17 }), [
    ['h', 'qint8'],
    ['y', 'qint8'],
  ]);
}

/** Wraps a factory so the test can count batches and check what the runner holds. */
function countingFactory(inner: ObserverFactory, onObserve: (data: Float32Array) => void): ObserverFactory {
  return {
    kind: inner.kind,
    summary: inner.summary,
    restore: (state, config) => inner.restore(state, config),
    create: (options, config) => {
      const observer = inner.create(options, config);
      const counted: Observer = {
        kind: observer.kind,
        options: observer.options,
        observe: (data, dims) => {
          onObserve(data);
          observer.observe(data, dims);
        },
        state: () => observer.state(),
        merge: (state) => observer.merge(state),
        qparams: () => observer.qparams(),
      };
      return counted;
    },
  };
}

describe('calibrate', () => {
  it('observes every ActivationQuant without shareWith, giving the ranges of the float model', async () => {
    const prepared = await seedPrepared();
    const outputsBefore = prepared.graph.outputs.map((v) => v.name);
    const progress: string[] = [];
    const result = await calibrate(
      prepared,
      { spec: { kind: 'dir', path: seedCalib } },
      { observer: minMaxObserverFactory, threads: 1, onProgress: (e) => progress.push(`${e.done}/${e.total} ${e.sample}`) },
    );
    const observed = SEED_ENTRIES.filter(([, , share]) => share === undefined).map(([name]) => name);
    expect([...result.states.keys()]).toEqual(observed);
    expect(result.samples).toBe(4);
    expect(result.observer).toBe('minmax');
    expect(progress).toEqual(['1/4 input_000.npy', '2/4 input_001.npy', '3/4 input_002.npy', '4/4 input_003.npy']);
    // The input model is left alone.
    expect(prepared.graph.outputs.map((v) => v.name)).toEqual(outputsBefore);

    const ranges = await referenceRanges(observed);
    const qparams = qparamsFor(result, minMaxObserverFactory);
    const values = prepared.graph.valuesByName();
    for (const name of observed) {
      const range = ranges.get(name)!;
      const state = result.states.get(name)!;
      expect(state.min, name).toEqual([range.min]);
      expect(state.max, name).toEqual([range.max]);
      expect(state.batches, name).toBe(4);
      const q = qparams(values.get(name)!)!;
      expect(q.amax[0], name).toBe(Math.fround(range.amax));
      expect(q.dtype, name).toBe(SEED_ENTRIES.find(([n]) => n === name)![1]);
    }
    // A tensor that shares its input's scale has no state: the exporter resolves it.
    expect(qparams(values.get('/relu/Relu_output_0')!)).toBeUndefined();
  });

  it('gives exactly the same states with 2 workers as in one thread (minmax and mse)', async () => {
    for (const factory of [minMaxObserverFactory, mseObserverFactory]) {
      const data = { spec: { kind: 'dir', path: seedCalib } } as const;
      const one = await calibrate(await seedPrepared(), data, { observer: factory, threads: 1 });
      const progress: number[] = [];
      const two = await calibrate(await seedPrepared(), data, {
        observer: factory,
        workers: 2,
        threads: 1,
        observerModule,
        onProgress: (e) => progress.push(e.done),
      });
      expect(two.toText(), factory.kind).toBe(one.toText());
      expect(progress).toEqual([1, 2, 3, 4]);
    }
  });

  it('merges --shard runs written to calib.json into the one-run result', async () => {
    const spec = { kind: 'dir', path: seedCalib } as const;
    const full = await calibrate(await seedPrepared(), { spec }, { observer: minMaxObserverFactory, threads: 1 });
    const files = [];
    for (const index of [0, 1, 2]) {
      // Shard 0 of 3 (samples 0 and 3) runs in 2 workers: shards 0 and 3 of 6.
      const shard = await calibrate(
        await seedPrepared(),
        { spec, shard: { index, count: 3 } },
        { observer: minMaxObserverFactory, threads: 1, workers: index === 0 ? 2 : 1, observerModule },
      );
      expect(shard.samples).toBe(index === 0 ? 2 : 1);
      const file = join(work, `shard-${index}.json`);
      writeCalibFile(shard, file);
      files.push(file);
    }
    // An explicit shard may be empty (more shards than samples); it merges as nothing.
    const empty = await calibrate(
      await seedPrepared(),
      { spec, shard: { index: 4, count: 5 } },
      { observer: minMaxObserverFactory, threads: 1 },
    );
    expect(empty.samples).toBe(0);
    writeCalibFile(empty, join(work, 'shard-empty.json'));
    files.push(join(work, 'shard-empty.json'));
    const merged = await mergeCalibFiles(files, () => minMaxObserverFactory);
    expect(merged.toText()).toBe(full.toText());
    expect((await readCalibFile(files[0]!)).toText()).toBe(readFileSync(files[0]!, 'utf8'));
    const json = full.toJSON();
    expect(Object.keys(json)).toEqual(['format', 'version', 'observer', 'samples', 'activations']);
    expect(Object.keys(json.activations)).toEqual([...full.states.keys()].sort());
  });

  it('refuses to merge calib files of different observers or tensors', async () => {
    const data = { spec: { kind: 'file', path: join(seedCalib, 'input_000.npy') } } as const;
    const minmax = await calibrate(await seedPrepared(), data, { observer: minMaxObserverFactory, threads: 1 });
    const mse = await calibrate(await seedPrepared(), data, { observer: mseObserverFactory, threads: 1 });
    const fewer = await calibrate(withPlan(await loadModel(seedModel), [['z', 'qint16']]), data, {
      observer: minMaxObserverFactory,
      threads: 1,
    });
    const [a, b, c] = ['a.json', 'b.json', 'c.json'].map((name) => join(work, name));
    writeCalibFile(minmax, a!);
    writeCalibFile(mse, b!);
    writeCalibFile(fewer, c!);
    const lookup = (kind: string) => (kind === 'mse' ? mseObserverFactory : minMaxObserverFactory);
    await expect(mergeCalibFiles([a!, b!], lookup)).rejects.toThrow(/observer 'mse'.*observer 'minmax'/);
    await expect(mergeCalibFiles([a!, c!], lookup)).rejects.toThrow(/different tensors.*c\.json lacks .*'input'/);
  });

  it('streams: 50 samples are read one at a time and every observer sees 50 batches', async () => {
    let produced = 0;
    let observed = 0;
    let readAhead = 0;
    const seen = new Set<Float32Array>();
    const factory = countingFactory(minMaxObserverFactory, (data) => {
      observed++;
      seen.add(data);
    });
    const source: CalibrationSource = {
      description: '50 generated samples',
      count: 50,
      async *samples(): AsyncGenerator<Sample> {
        for (let i = 0; i < 50; i++) {
          // Two observed tensors per sample: when sample i is asked for, samples 0..i-1 must be fully observed.
          if (observed !== 2 * i) readAhead++;
          produced++;
          const data = Float32Array.from({ length: 16 }, (_, k) => Math.cos(i * 16 + k));
          yield { id: `s${i}`, inputs: new Map([['x', { dtype: 'float32', shape: [1, 16], data }]]) };
        }
      },
    };
    const result = await calibrate(tinyModel(), source, { observer: factory, threads: 1 });
    expect(produced).toBe(50);
    expect(readAhead).toBe(0);
    expect(observed).toBe(100);
    // Every batch is a fresh array from that sample's run, not a buffer the runner accumulates into.
    expect(seen.size).toBe(100);
    expect(result.samples).toBe(50);
    for (const state of result.states.values()) expect(state.batches).toBe(50);
  });

  it('names the sample and the tensor when an observed tensor holds NaN or Inf', async () => {
    // A NaN in the data itself (a custom source does not check its samples).
    const bad: CalibrationSource = {
      description: 'one bad sample',
      count: 2,
      async *samples() {
        const data = new Float32Array(16).fill(0.5);
        yield { id: 'good.npy', inputs: new Map([['x', { dtype: 'float32', shape: [1, 16], data }]]) };
        const nan = data.slice();
        nan[3] = NaN;
        yield { id: 'bad.npy', inputs: new Map([['x', { dtype: 'float32', shape: [1, 16], data: nan }]]) };
      },
    };
    const error = await calibrate(tinyModel(), bad, { observer: minMaxObserverFactory, threads: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(QuantkitError);
    expect(error.code).toBe('QK_CALIB_DATA');
    expect(error.message).toMatch(/sample bad\.npy: tensor 'h' contains NaN/);

    // +Inf made by the model: 1 / 0.
    const zeros: CalibrationSource = {
      description: 'zeros',
      count: 1,
      async *samples() {
        yield { id: 'zeros.npy', inputs: new Map([['x', { dtype: 'float32', shape: [1, 16], data: new Float32Array(16) }]]) };
      },
    };
    await expect(
      calibrate(tinyModel('Reciprocal'), zeros, { observer: minMaxObserverFactory, threads: 1 }),
    ).rejects.toThrow(/sample zeros\.npy: tensor 'y' contains \+Inf \(first at flat index 0\)/);

    // NaN made by the model: Sqrt of the negative values of N(0, 1) data, in a worker too.
    for (const workers of [1, 2]) {
      const failure = await calibrate(
        tinyModel('Sqrt'),
        { spec: { kind: 'random', count: 4 } },
        { observer: minMaxObserverFactory, threads: 1, workers, observerModule },
      ).catch((e) => e);
      expect(failure, `workers ${workers}`).toBeInstanceOf(QuantkitError);
      expect(failure.code).toBe('QK_CALIB_DATA');
      expect(failure.message).toMatch(/sample random#\d: tensor 'y' contains NaN/);
    }
  });

  it('calibrates what prepare() plans, with the dtypes of the plan', async () => {
    for (const template of ['int8', 'int16']) {
      const { model } = await prepare(await loadModel(seedModel), { template });
      const plan = quantPlanOf(model);
      const result = await calibrate(model, { spec: { kind: 'dir', path: seedCalib } }, {
        observer: minMaxObserverFactory,
        threads: 1,
      });
      const expected = [...plan.activations.values()].filter((a) => a.shareWith === undefined);
      expect(expected.length, template).toBeGreaterThan(0);
      expect([...result.states.keys()], template).toEqual(expected.map((a) => a.value.name));
      for (const a of expected) expect(result.states.get(a.value.name)!.dtype, a.value.name).toBe(a.dtype);
    }
  });

  it('observes graph inputs from the feeds, even when nothing else is observed', async () => {
    const model = withPlan(tinyModel(), [['x', 'qint16']]);
    const result = await calibrate(model, { spec: { kind: 'random', count: 3, seed: 7 } }, {
      observer: minMaxObserverFactory,
      threads: 1,
    });
    expect(result.samples).toBe(3);
    expect(result.states.get('x')).toMatchObject({ dtype: 'qint16', batches: 3 });
  });

  it('checks its arguments', async () => {
    const source = { spec: { kind: 'random', count: 2 } } as const;
    await expect(
      calibrate(tinyModel(), source, { observer: minMaxObserverFactory, workers: 2, threads: 1 }),
    ).rejects.toThrow(/needs observerModule/);
    const open: CalibrationSource = { description: 'x', count: 0, async *samples() {} };
    await expect(
      calibrate(tinyModel(), open, { observer: minMaxObserverFactory, workers: 2, observerModule }),
    ).rejects.toThrow(/as a spec/);
    await expect(calibrate(tinyModel(), open, { observer: minMaxObserverFactory })).rejects.toThrow(/no samples/);
    const elsewhere = new URL('../errors/codes.ts', import.meta.url);
    await expect(
      calibrate(tinyModel(), source, { observer: minMaxObserverFactory, workers: 2, threads: 1, observerModule: elsewhere }),
    ).rejects.toThrow(/codes\.ts exports no observer factory of kind 'minmax'/);
    expect(calibrationTargets(tinyModel()).map((t) => t.name)).toEqual(['h', 'y']);
  });
});
