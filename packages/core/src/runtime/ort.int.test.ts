import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { exposeValues } from './expose-values.js';
import { createSession, loadOrt, releaseSession, runSession, toNpyArray } from './ort.js';

function scaleModel() {
  const b = new GraphBuilder('scale');
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const k = b.initializer('k', Tensor.fromArray(Float32Array.from([2]), []));
  const [y] = b.node('Mul', [x, k], { outputs: ['y'] });
  const [z] = b.node('Relu', [y!], { outputs: ['z'] });
  const [s] = b.node('Shape', [z!], { outputs: ['s'] });
  b.output(z!, DataType.FLOAT, [2, 3]);
  b.output(s!, DataType.INT64, [2]);
  return b.model({ '': 17 });
}

describe('onnxruntime helpers', () => {
  it('runs a model from the IR and returns typed outputs', async () => {
    const session = await createSession(scaleModel(), { threads: 1 });
    const x: NpyArray = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, -2, 3, -4, 5, -6]) };
    const outputs = await runSession(session, new Map([['x', x]]));
    expect(outputs.get('z')).toEqual({ dtype: 'float32', dims: [2, 3], data: Float32Array.from([2, 0, 6, 0, 10, 0]) });
    expect(outputs.get('s')).toEqual({ dtype: 'int64', dims: [2], data: BigInt64Array.from([2n, 3n]) });
    expect(toNpyArray(outputs.get('z')!).shape).toEqual([2, 3]);
    expect([...(await runSession(session, new Map([['x', x]]), ['s'])).keys()]).toEqual(['s']);
    await releaseSession(session);
    expect(await loadOrt()).toBe(await loadOrt());
  });

  it('exposes inner tensors as outputs of a copy, typed, without touching the model', async () => {
    const model = scaleModel();
    const exposed = exposeValues(model, ['y', 'x', 'k', 'z'], 'the scale model');
    expect(exposed.fetch).toEqual(['y', 'z']);
    expect([...exposed.sources].map(([name, source]) => `${name}:${source.kind}`)).toEqual([
      'y:output',
      'x:input',
      'k:constant',
      'z:output',
    ]);
    expect(model.graph.outputs.map((v) => v.name)).toEqual(['z', 's']);
    const session = await createSession(exposed.model, { threads: 1 });
    const x: NpyArray = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, -2, 3, -4, 5, -6]) };
    const outputs = await runSession(session, new Map([['x', x]]), exposed.fetch);
    expect(outputs.get('y')!.data).toEqual(Float32Array.from([2, -4, 6, -8, 10, -12]));
    expect(() => exposeValues(model, ['s'], 'the scale model')).toThrow(/'s' of the scale model is int64/);
    expect(() => exposeValues(model, ['nope'], 'the scale model')).toThrow(/has no tensor named 'nope'/);
  });

  it("wraps onnxruntime's errors with the model's name and onnxruntime's message", async () => {
    const notAModel = await createSession(new Uint8Array([1, 2, 3]), { name: 'broken.onnx' }).catch((e) => e);
    expect(notAModel).toBeInstanceOf(QuantkitError);
    expect(notAModel.code).toBe('QK_RUNTIME');
    expect(notAModel.message).toMatch(/onnxruntime cannot load broken\.onnx: onnxruntime says: .+/);
    const session = await createSession(scaleModel(), { threads: 1, name: 'scale.onnx' });
    const wrong: NpyArray = { dtype: 'float32', shape: [3, 3], data: new Float32Array(9) };
    await expect(runSession(session, new Map([['x', wrong]]))).rejects.toThrow(
      /onnxruntime failed to run scale\.onnx: onnxruntime says: .*dimension/i,
    );
    await releaseSession(session);
  });

  it('a feed whose data does not fill its shape → QK_RUNTIME naming the input and the model', async () => {
    const session = await createSession(scaleModel(), { threads: 1, name: 'scale.onnx' });
    try {
      const short: NpyArray = { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) };
      const error = await runSession(session, new Map([['x', short]])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QuantkitError);
      expect(error).toMatchObject({ code: 'QK_RUNTIME' });
      expect((error as QuantkitError).message).toMatch(/input 'x' of scale\.onnx/);
    } finally {
      await releaseSession(session);
    }
  });
});
