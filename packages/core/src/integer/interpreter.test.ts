import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { IntegerGraphBuilder } from './integer-builder.js';
import { interpret } from './interpreter.js';
import { encodeMultipliers } from './requant.js';
import { codeOf } from '../testing/error-of.js';

function run(b: IntegerGraphBuilder, feeds: Record<string, NpyArray>): Map<string, NpyArray> {
  return interpret(b.model(), new Map(Object.entries(feeds)));
}

function only(b: IntegerGraphBuilder, feeds: Record<string, NpyArray>): NpyArray {
  const outputs = [...run(b, feeds).values()];
  return outputs[0]!;
}

const i8 = (data: number[], shape: number[]): NpyArray => ({ dtype: 'int8', shape, data: Int8Array.from(data) });
const i16 = (data: number[], shape: number[]): NpyArray => ({ dtype: 'int16', shape, data: Int16Array.from(data) });
const f32 = (data: number[], shape: number[]): NpyArray => ({ dtype: 'float32', shape, data: Float32Array.from(data) });

describe('interpret: Quantize / Dequantize', () => {
  it('quantizes half to even by default and floor(v + 0.5) with rounding bpu, saturating', () => {
    for (const [rounding, expected] of [
      [undefined, [0, 2, 2, -2, -2, 127, -128]],
      ['bpu', [1, 2, 3, -2, -1, 127, -128]],
    ] as const) {
      const b = new IntegerGraphBuilder();
      const x = b.input('x', DataType.FLOAT, [7]);
      b.output(b.quantize(x, { scale: 1, dtype: 'int8', rounding }));
      const out = only(b, { x: f32([0.5, 1.5, 2.5, -2.5, -1.5, 1000, -1000], [7]) });
      expect(out.dtype).toBe('int8');
      expect([...out.data]).toEqual(expected);
    }
  });

  it('divides in float32 as QuantizeLinear does', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1]);
    b.output(b.quantize(x, { scale: 0.1, dtype: 'int16' }));
    // 0.25 / float32(0.1) = 2.4999999627… in float64 but exactly 2.5 in float32, which rounds to 2.
    expect([...only(b, { x: f32([0.25], [1]) }).data]).toEqual([2]);
  });

  it('dequantizes per channel, rounding an int32 beyond 2^24 to float32 first', () => {
    const b = new IntegerGraphBuilder();
    const q = b.input('q', DataType.INT32, [2, 2]);
    b.output(b.dequantize(q, { scale: [0.5, 3], axis: 1 }));
    const out = only(b, { q: { dtype: 'int32', shape: [2, 2], data: Int32Array.from([3, -2, 2 ** 24 + 1, 1]) } });
    expect(out.dtype).toBe('float32');
    expect([...out.data]).toEqual([1.5, -6, 2 ** 23, 3]);
  });
});

describe('interpret: Conv', () => {
  const x = i8([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);

  function conv(options: Parameters<IntegerGraphBuilder['conv']>[3], bias?: number[], w = [1, 0, 0, -1], wShape = [1, 1, 2, 2]) {
    const b = new IntegerGraphBuilder();
    const input = b.input('x', DataType.INT8, [1, 1, 3, 3]);
    const weight = b.initializer('w', Int8Array.from(w), wShape);
    const biasValue = bias ? b.initializer('b', Int32Array.from(bias), [bias.length]) : undefined;
    b.output(b.conv(input, weight, biasValue, options));
    return b;
  }

  it('computes an exact int32 accumulator with bias', () => {
    // out[i, j] = x[i, j] - x[i + 1, j + 1] = -4, plus bias 10.
    const out = only(conv({ outDtype: 'int32' }, [10]), { x });
    expect(out).toEqual({ dtype: 'int32', shape: [1, 1, 2, 2], data: Int32Array.from([6, 6, 6, 6]) });
  });

  it('pads with zeros and strides', () => {
    const out = only(conv({ outDtype: 'int32', attributes: { pads: [1, 1, 1, 1], strides: [2, 2] } }), { x });
    expect([...out.data]).toEqual([-1, -3, -7, -4]);
    expect(out.shape).toEqual([1, 1, 2, 2]);
  });

  it('dilates the kernel', () => {
    // Taps x[i, j] and x[i + 2, j + 2]: 1 - 9.
    const out = only(conv({ outDtype: 'int32', attributes: { dilations: [2, 2] } }), { x });
    expect([...out.data]).toEqual([-8]);
  });

  it('convolves groups separately', () => {
    const b = new IntegerGraphBuilder();
    const input = b.input('x', DataType.INT16, [1, 2, 1, 1]);
    const w = b.initializer('w', Int8Array.from([2, -1]), [2, 1, 1, 1]);
    b.output(b.conv(input, w, undefined, { outDtype: 'int32', attributes: { group: 2 } }));
    expect([...only(b, { x: i16([3000, 5], [1, 2, 1, 1]) }).data]).toEqual([6000, -5]);
  });

  it('rescales to int8 per channel, then applies relu', () => {
    const { multiplier, shift } = encodeMultipliers([0.5]);
    // acc = -4 + bias 13 = 9 → 4.5 → 5; with bias -1: -5 → -2.5 → -2 → relu 0.
    expect([...only(conv({ outDtype: 'int8', multiplier, shift }, [13]), { x }).data]).toEqual([5, 5, 5, 5]);
    expect([...only(conv({ outDtype: 'int8', multiplier, shift }, [-1]), { x }).data]).toEqual([-2, -2, -2, -2]);
    expect([...only(conv({ outDtype: 'int8', multiplier, shift, relu: true }, [-1]), { x }).data]).toEqual([0, 0, 0, 0]);
  });

  it('emits float32 as float32(acc) · float32(x_scale · w_scale[c])', () => {
    const out = only(conv({ outDtype: 'float32', xScale: 0.5, wScale: [0.25] }, [10]), { x });
    expect(out).toEqual({ dtype: 'float32', shape: [1, 1, 2, 2], data: Float32Array.from([0.75, 0.75, 0.75, 0.75]) });
  });

  it('clamps int32 outputs to clip_min / clip_max and saturates the accumulator to int32', () => {
    expect([...only(conv({ outDtype: 'int32', clipMin: -2, clipMax: 5 }, [10]), { x }).data]).toEqual([5, 5, 5, 5]);
    const big = only(conv({ outDtype: 'int32' }, [2 ** 31 - 2]), { x });
    expect([...big.data]).toEqual([2 ** 31 - 6, 2 ** 31 - 6, 2 ** 31 - 6, 2 ** 31 - 6]);
    const saturated = only(conv({ outDtype: 'int32' }, [2 ** 31 - 1], [127, 127, 127, 127]), { x });
    expect([...saturated.data]).toEqual([2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1]);
  });

  it('refuses an int32 weight and a bias of the wrong length', () => {
    const b = new IntegerGraphBuilder();
    const input = b.input('x', DataType.INT8, [1, 1, 3, 3]);
    const w = b.initializer('w', Int32Array.from([1, 0, 0, -1]), [1, 1, 2, 2]);
    b.output(b.conv(input, w, undefined, { outDtype: 'int32', name: 'c32' }));
    expect(() => run(b, { x })).toThrow(/c32.*w is int32/);
    expect(codeOf(() => only(conv({ outDtype: 'int32' }, [1, 2]), { x }))).toBe('QK_TENSOR_DATA');
  });
});

describe('interpret: Gemm / MatMul', () => {
  function gemm(options: Parameters<IntegerGraphBuilder['gemm']>[3]) {
    const b = new IntegerGraphBuilder();
    const a = b.input('a', DataType.INT16, [2, 3]);
    const w = b.initializer('w', Int8Array.from([1, 0, -1, 2, 1, 0]), [2, 3]);
    const c = b.initializer('c', Int32Array.from([100, -100]), [2]);
    b.output(b.gemm(a, w, c, { ...options, attributes: { transB: 1 } }));
    return b;
  }
  const a = i16([1, 2, 3, 4, 5, 6], [2, 3]);

  it('Gemm transB = 1 with bias, int32 and float32 out', () => {
    // A · Wᵀ = [[-2, 4], [-2, 13]], plus C.
    expect(only(gemm({ outDtype: 'int32' }), { a })).toEqual({ dtype: 'int32', shape: [2, 2], data: Int32Array.from([98, -96, 98, -87]) });
    const out = only(gemm({ outDtype: 'float32', xScale: 0.5, wScale: [0.25, 0.125] }), { a });
    expect([...out.data]).toEqual([12.25, -6, 12.25, -5.4375]);
  });

  it('MatMul int16 × int8 rescaled per output channel on the last axis', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT16, [1, 2, 2]);
    const w = b.initializer('w', Int8Array.from([1, 2, 3, -1]), [2, 2]);
    const { multiplier, shift } = encodeMultipliers([0.125, 0.0625]);
    b.output(b.matmul(x, w, undefined, { outDtype: 'int8', multiplier, shift }));
    // [[-300, 800], [1021, 1993]] → [[-37.5, 50], [127.625, 124.5625]].
    const out = only(b, { x: i16([300, -200, 1000, 7], [1, 2, 2]) });
    expect(out).toEqual({ dtype: 'int8', shape: [1, 2, 2], data: Int8Array.from([-37, 50, 127, 125]) });
  });

  it('MatMul activation × activation (int16 × int16) with batch broadcasting and a bias', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT16, [2, 1, 3]);
    const y = b.input('y', DataType.INT16, [3, 1]);
    const bias = b.initializer('bias', Int32Array.from([5]), [1]);
    b.output(b.matmul(x, y, bias, { outDtype: 'int32' }));
    // 3 · 30000² = 2.7e9 saturates int32; (2 + 3 - 4) · 30000 + 5 does not.
    const out = only(b, { x: i16([30000, 30000, 30000, 2, 3, -4], [2, 1, 3]), y: i16([30000, 30000, 30000], [3, 1]) });
    expect(out).toEqual({ dtype: 'int32', shape: [2, 1, 1], data: Int32Array.from([2 ** 31 - 1, 30005]) });
  });
});

describe('interpret: Rescale', () => {
  it('rescales int32 per channel along axis with clip', () => {
    const b = new IntegerGraphBuilder();
    const acc = b.input('acc', DataType.INT32, [1, 2, 2]);
    const { multiplier, shift } = encodeMultipliers([0.5, 2]);
    b.output(b.rescale(acc, { multiplier, shift, outDtype: 'int16', axis: 1, clipMax: 100 }));
    const out = only(b, { acc: { dtype: 'int32', shape: [1, 2, 2], data: Int32Array.from([5, -5, 60, -70000]) } });
    expect(out).toEqual({ dtype: 'int16', shape: [1, 2, 2], data: Int16Array.from([3, -2, 100, -32768]) });
  });
});

describe('interpret: pass-through ops on integer tensors', () => {
  const x = i16([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [1, 3, 4]);
  const int64 = (values: number[]) => Tensor.fromArray(BigInt64Array.from(values.map(BigInt)), [values.length]);

  function single(op: string, extra: Tensor[] = [], attributes: Record<string, number | number[]> = {}) {
    const b = new IntegerGraphBuilder();
    const input = b.input('x', DataType.INT16, [1, 3, 4]);
    const inputs = [input, ...extra.map((t, i) => b.initializer(`c${i}`, t))];
    const [y] = b.node(op, inputs, { attributes });
    b.output(y!);
    return only(b, { x });
  }

  it('Reshape, Flatten, Squeeze, Unsqueeze, Identity keep the data', () => {
    expect(single('Reshape', [int64([0, -1, 2])]).shape).toEqual([1, 6, 2]);
    expect(single('Flatten', [], { axis: 2 }).shape).toEqual([3, 4]);
    expect(single('Squeeze', [int64([0])]).shape).toEqual([3, 4]);
    expect(single('Unsqueeze', [int64([-1])]).shape).toEqual([1, 3, 4, 1]);
    expect(single('Identity')).toEqual(x);
  });

  it('Transpose, Slice (negative step), Gather (negative index)', () => {
    const t = single('Transpose', [], { perm: [0, 2, 1] });
    expect(t.shape).toEqual([1, 4, 3]);
    expect([...t.data]).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    const s = single('Slice', [int64([-1, 1]), int64([0, 3]), int64([2, 1]), int64([-2, 1])]);
    expect(s.shape).toEqual([1, 2, 2]);
    expect([...s.data]).toEqual([7, 5, 11, 9]);
    const g = single('Gather', [int64([-1, 0])], { axis: 2 });
    expect(g.shape).toEqual([1, 3, 2]);
    expect([...g.data]).toEqual([3, 0, 7, 4, 11, 8]);
    expect(g.dtype).toBe('int16');
  });

  it('Concat and MaxPool (with padding, stride, ceil_mode)', () => {
    const b = new IntegerGraphBuilder();
    const input = b.input('x', DataType.INT16, [1, 3, 4]);
    const [c] = b.node('Concat', [input, input], { attributes: { axis: 2 } });
    const [r] = b.node('Reshape', [c!, b.initializer('s', int64([1, 1, 4, 6]))]);
    const [p] = b.node('MaxPool', [r!], { attributes: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 0, 0, 0], ceil_mode: 1 } });
    b.output(p!);
    b.output(c!);
    const outputs = run(b, { x });
    expect([...outputs.get(c!.name)!.data]).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 8, 9, 10, 11, 8, 9, 10, 11]);
    // Rows: [0 1 2 3 0 1] [2 3 4 5 6 7] [4 5 6 7 8 9] [10 11 8 9 10 11], padded with one row above.
    const pooled = outputs.get(p!.name)!;
    expect(pooled.shape).toEqual([1, 1, 3, 3]);
    expect([...pooled.data]).toEqual([1, 3, 1, 5, 7, 9, 11, 9, 11]);
  });
});

describe('interpret: float ops (VPU islands and CPU fallbacks)', () => {
  it('Add broadcasts and rounds to float32; Relu; Sub; Mul', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 2]);
    const k = b.initializer('k', Float32Array.from([0.1, -1]), [2]);
    const sum = b.vpu('Add', [x, k]);
    const [relu] = b.node('Relu', [sum]);
    const mul = b.vpu('Mul', [relu!, k]);
    const sub = b.vpu('Sub', [mul, x]);
    b.output(sum);
    b.output(sub);
    const outputs = run(b, { x: f32([1, 2, 3, 0.5], [2, 2]) });
    expect([...outputs.get(sum.name)!.data]).toEqual([Math.fround(1 + Math.fround(0.1)), 1, Math.fround(3 + Math.fround(0.1)), -0.5]);
    const expected = [1, 2, 3, 0.5].map((v, i) => {
      const s = Math.fround(v + [Math.fround(0.1), -1][i % 2]!);
      return Math.fround(Math.fround(Math.max(s, 0) * [Math.fround(0.1), -1][i % 2]!) - v);
    });
    expect([...outputs.get(sub.name)!.data]).toEqual(expected);
  });

  it('Softmax, LayerNormalization, Sigmoid, GlobalAveragePool', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 2, 1, 2]);
    const softmax = b.vpu('Softmax', [x], { axis: -1 });
    const scale = b.initializer('scale', Float32Array.from([2, 1]), [2]);
    const bias = b.initializer('bias', Float32Array.from([0, 1]), [2]);
    const norm = b.vpu('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: 0 });
    const sigmoid = b.vpu('Sigmoid', [x]);
    const pool = b.vpu('GlobalAveragePool', [x]);
    for (const v of [softmax, norm, sigmoid, pool]) b.output(v);
    const outputs = run(b, { x: f32([0, Math.log(3), 1, 3], [1, 2, 1, 2]) });
    const close = (actual: ArrayLike<number>, expected: number[]) =>
      expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 6));
    close(outputs.get(softmax.name)!.data as Float32Array, [0.25, 0.75, 1 / (1 + Math.exp(2)), 1 / (1 + Math.exp(-2))]);
    // Each row of two normalises to [-1, 1]; then · [2, 1] + [0, 1].
    close(outputs.get(norm.name)!.data as Float32Array, [-2, 2, -2, 2]);
    close(outputs.get(sigmoid.name)!.data as Float32Array, [0.5, 0.75, 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(-3))]);
    expect(outputs.get(pool.name)!.shape).toEqual([1, 2, 1, 1]);
    close(outputs.get(pool.name)!.data as Float32Array, [Math.log(3) / 2, 2]);
  });
});

describe('interpret: errors', () => {
  it('names the node of an op it has no kernel for', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1]);
    b.output(b.vpu('Erf', [x], {}, 'my_erf'));
    expect(codeOf(() => run(b, { x: f32([1], [1]) }))).toBe('QK_UNSUPPORTED');
    expect(() => run(b, { x: f32([1], [1]) })).toThrow(/my_erf/);
  });

  it('refuses missing and mistyped feeds, and float ops on integer tensors', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT8, [1]);
    b.output(b.vpu('Relu', [x], {}, 'relu_on_int'));
    expect(codeOf(() => run(b, {}))).toBe('QK_USAGE');
    expect(codeOf(() => run(b, { x: f32([1], [1]) }))).toBe('QK_USAGE');
    expect(() => run(b, { x: i8([1], [1]) })).toThrow(/relu_on_int.*float32/);
  });

  it('refuses bad integer-IR attributes with the node name', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT32, [2]);
    b.output(b.rescale(x, { multiplier: [123], shift: [5], outDtype: 'int8', name: 'bad_rescale' }));
    expect(codeOf(() => run(b, { x: { dtype: 'int32', shape: [2], data: Int32Array.from([1, 2]) } }))).toBe('QK_RESCALE');
    expect(() => run(b, { x: { dtype: 'int32', shape: [2], data: Int32Array.from([1, 2]) } })).toThrow(/bad_rescale/);
  });
});

describe('interpret: Epilogue / ScaleShift', () => {
  it('dequantizes per channel, applies the steps in order, quantizes once and clamps to clip_min / clip_max', () => {
    const b = new IntegerGraphBuilder();
    const acc = b.input('acc', DataType.INT32, [1, 2, 3]);
    const scale = b.initializer('a', Tensor.fromArray(Float32Array.of(2, -1), [2]));
    const shift = b.initializer('b', Tensor.fromArray(Float32Array.of(0.5, 0), [2]));
    const attributes = { acc_scale: [0.5, 0.25], axis: 1, steps: 'Relu,ScaleShift', out_dtype: 'int8', out_scale: 0.5, clip_max: 6 };
    b.output(b.vpu('Epilogue', [acc, scale, shift], attributes));
    const out = only(b, { acc: { dtype: 'int32', shape: [1, 2, 3], data: Int32Array.of(-4, 1, 10, 8, -8, 2) } });
    // Channel 0: relu(acc · 0.5) · 2 + 0.5 = 0.5, 1.5, 10.5 → codes 1, 3, 21, the last clamped to 6.
    // Channel 1: relu(acc · 0.25) · −1 = −2, 0, −0.5 → codes −4, 0, −1 (−0.5 / 0.5 = −1).
    expect([...out.data]).toEqual([1, 3, 6, -4, 0, -1]);
  });

  it('refuses an unknown step and step_params that do not match the steps, naming the node', () => {
    for (const attributes of [
      { acc_scale: [1], steps: 'Swish', out_dtype: 'int8', out_scale: 1 },
      { acc_scale: [1], steps: 'Clip', step_params: [0.5], out_dtype: 'int8', out_scale: 1 },
      { acc_scale: [1], steps: 'Relu', step_params: [0.5], out_dtype: 'int8', out_scale: 1 },
    ]) {
      const b = new IntegerGraphBuilder();
      b.output(b.vpu('Epilogue', [b.input('acc', DataType.INT32, [2])], attributes, 'bad'));
      expect(codeOf(() => run(b, { acc: { dtype: 'int32', shape: [2], data: Int32Array.of(1, 2) } }))).toBe('QK_ATTRIBUTE');
    }
  });

  it('runs a ScaleShift as floor((q · multiplier + offset) / 2^shift), saturated; refuses a shift beyond 35', () => {
    const b = new IntegerGraphBuilder();
    const q = b.input('q', DataType.INT8, [1, 2, 2]);
    // Channel 0: q · 1.5 + 0.25 (offset 0.25 · 4 + 2); channel 1: q · −100.
    const attributes = { multiplier: [6, -400], shift: [2, 2], offset: [3, 2], axis: 1, out_dtype: 'int8' };
    b.output(b.vpu('ScaleShift', [q], attributes));
    const out = only(b, { q: i8([3, -3, 1, -2], [1, 2, 2]) });
    // Channel 0: 4.75 → 5, −4.25 → −4 (floor of −4.25 + 0.5); channel 1: −100, and 200 saturated to 127.
    expect([...out.data]).toEqual([5, -4, -100, 127]);
    const bad = new IntegerGraphBuilder();
    bad.output(bad.vpu('ScaleShift', [bad.input('q', DataType.INT8, [1])], { multiplier: [1], shift: [40], offset: [0], out_dtype: 'int8' }));
    expect(codeOf(() => run(bad, { q: i8([1], [1]) }))).toBe('QK_ATTRIBUTE');
  });
});
