import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { standardNormal, Xoshiro128 } from '../data/random.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { verifyModel } from '../ir/verify.js';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { quantizeValue, scaleFromAmax } from '../quant/numerics.js';
import { createSession, releaseSession, runSession, type GraphOptimizationLevel } from '../runtime/ort.js';
import { IntegerGraphBuilder } from './integer-builder.js';
import { INTEGER_DOMAIN, type NarrowDtype, type OutDtype } from './integer-ops.js';
import { interpret } from './interpreter.js';
import { CONV_MAX_K, lowerToStandard } from './lower.js';
import { encodeMultipliers } from './requant.js';

/**
 * The lowering to standard ONNX computes the integer IR's integers bit for bit: every test builds a small integer
 * graph, runs it in the interpreter and, lowered, in onnxruntime (with graph optimizations on and off), and compares
 * every output's bits. Float outputs of VPU islands (LayerNormalization) are the one exception: onnxruntime computes
 * them in float32 with its own summation order, so they agree to float32 rounding, and the Quantize after them is
 * checked on onnxruntime's own float values.
 */

async function runOrt(model: Model, feeds: Map<string, NpyArray>, level: GraphOptimizationLevel): Promise<Map<string, NpyArray>> {
  // Through the encoder and decoder, as quantized.onnx would travel.
  const session = await createSession(encodeModel(lowerToStandard(decodeModel(encodeModel(model)))), {
    threads: 1,
    graphOptimizationLevel: level,
  });
  try {
    const outputs = await runSession(session, feeds);
    return new Map([...outputs].map(([name, t]) => [name, { dtype: t.dtype, shape: [...t.dims], data: t.data } as NpyArray]));
  } finally {
    await releaseSession(session);
  }
}

function bits(array: NpyArray): number[] {
  if (array.dtype === 'float32') return [...new Uint32Array(array.data.buffer, array.data.byteOffset, array.data.length)];
  return [...(array.data as ArrayLike<number>)];
}

/** Runs both ways and asserts that every output (or every listed one) agrees bit for bit. */
async function expectBitExact(model: Model, feeds: Map<string, NpyArray>, names?: string[]): Promise<Map<string, NpyArray>> {
  const expected = interpret(model, feeds);
  for (const level of ['all', 'disabled'] as const) {
    const actual = await runOrt(model, feeds, level);
    for (const name of names ?? [...expected.keys()]) {
      const want = expected.get(name)!;
      const got = actual.get(name)!;
      expect({ name, level, dtype: got.dtype, shape: got.shape }).toEqual({ name, level, dtype: want.dtype, shape: want.shape });
      const [a, b] = [bits(got), bits(want)];
      const mismatch = a.findIndex((v, i) => v !== b[i]);
      expect({ name, level, mismatch, got: got.data[mismatch], want: want.data[mismatch] }).toEqual({
        name,
        level,
        mismatch: -1,
        got: undefined,
        want: undefined,
      });
    }
  }
  return expected;
}

function normals(seed: number, size: number, scale = 1): Float32Array {
  const data = standardNormal(seed).fill(new Float32Array(size));
  for (let i = 0; i < size; i++) data[i] = data[i]! * scale;
  return data;
}

const qtype = (dtype: NarrowDtype) => (dtype === 'int8' ? 'qint8' : 'qint16');
const absMax = (data: ArrayLike<number>) => Array.prototype.reduce.call(data, (m: number, v) => Math.max(m, Math.abs(v as number)), 0) as number;

/** Per-output-channel int8 weights (channel axis 0 for Conv / Gemm transB, `axis` otherwise) and their scales. */
function quantizeWeights(w: Float32Array, dims: number[], axis: number): { q: Int8Array; scales: number[] } {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const amax = new Array<number>(channels).fill(0);
  w.forEach((v, i) => {
    const c = Math.floor(i / inner) % channels;
    amax[c] = Math.max(amax[c]!, Math.abs(v));
  });
  const scales = amax.map((a) => scaleFromAmax(a, 'qint8'));
  const q = Int8Array.from(w, (v, i) => quantizeValue(v, scales[Math.floor(i / inner) % channels]!, 'qint8'));
  return { q, scales };
}

describe('lowerToStandard', () => {
  it('writes standard ONNX only, keeps the graph interface, and leaves the input model alone', () => {
    const b = new IntegerGraphBuilder('plain');
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    const q = b.quantize(x, { scale: 0.1, dtype: 'int16', name: 'q' });
    b.output(b.dequantize(q, { scale: 0.1, name: 'dq' }), DataType.FLOAT, [2, 3]);
    const model = b.model();
    const before = encodeModel(model);
    const lowered = lowerToStandard(model);
    verifyModel(lowered);
    expect([...lowered.graph].every((node) => node.domain === '')).toBe(true);
    expect(lowered.opsetImports.has(INTEGER_DOMAIN)).toBe(false);
    expect(lowered.opset).toBe(21);
    expect(lowered.graph.inputs.map((v) => v.name)).toEqual(['x']);
    expect(lowered.graph.outputs.map((v) => v.name)).toEqual(model.graph.outputs.map((v) => v.name));
    expect(encodeModel(model)).toEqual(before);
  });

  describe('Quantize → Conv (int8 / int16 x, per-channel int8 w, pads, stride, group 2, bias, relu) → out', () => {
    const outDtypes: OutDtype[] = ['int8', 'int16', 'int32', 'float32'];
    for (const xDtype of ['int8', 'int16'] as NarrowDtype[]) {
      for (const outDtype of outDtypes) {
        it(`${xDtype} x, ${outDtype} out`, async () => {
          const seed = 100 + outDtypes.indexOf(outDtype) + (xDtype === 'int16' ? 10 : 0);
          const xData = normals(seed, 1 * 4 * 9 * 9, 3);
          const xScale = scaleFromAmax(absMax(xData) * 0.8, qtype(xDtype)); // 0.8: some inputs saturate
          const wDims = [6, 2, 3, 3];
          const { q: wq, scales: wScales } = quantizeWeights(normals(seed + 1, 6 * 2 * 9, 0.2), wDims, 0);
          const bias = Int32Array.from(normals(seed + 2, 6, 0.5), (v, c) => Math.round(v / (xScale * wScales[c]!)));
          const build = (options: { outDtype: OutDtype; multiplier?: number[]; shift?: number[] }) => {
            const b = new IntegerGraphBuilder('conv');
            const x = b.input('x', DataType.FLOAT, [1, 4, 9, 9]);
            const q = b.quantize(x, { scale: xScale, dtype: xDtype, name: 'quant' });
            const w = b.initializer('w', wq, wDims);
            const bv = b.initializer('b', bias, [6]);
            const y = b.conv(q, w, bv, {
              name: 'conv',
              xScale,
              wScale: wScales,
              relu: true,
              attributes: { pads: [1, 0, 2, 1], strides: [2, 1], group: 2, kernel_shape: [3, 3] },
              ...options,
            });
            b.output(y);
            return { b, y };
          };
          const feeds = new Map<string, NpyArray>([['x', { dtype: 'float32', shape: [1, 4, 9, 9], data: xData }]]);
          let model: Model;
          if (outDtype === 'int8' || outDtype === 'int16') {
            // Output scale from the accumulator range, so that a few outputs saturate.
            const acc = [...interpret(build({ outDtype: 'int32' }).b.model(), feeds).values()][0]!;
            const accMax = absMax(acc.data as Int32Array);
            const outScale = scaleFromAmax(accMax * xScale * Math.max(...wScales) * 0.7, qtype(outDtype));
            const { multiplier, shift } = encodeMultipliers(wScales.map((s) => (xScale * s) / outScale));
            const { b, y } = build({ outDtype, multiplier, shift });
            b.output(b.dequantize(y, { scale: outScale, name: 'dq' }));
            const rescaled = b.rescale(y, { multiplier: [2 ** 21 + 12345], shift: [23], outDtype: 'int8', name: 'rescale' });
            b.output(rescaled);
            model = b.model();
          } else {
            const { b, y } = build({ outDtype });
            if (outDtype === 'int32') {
              b.output(b.dequantize(y, { scale: wScales.map((s) => xScale * s), axis: 1, name: 'dq' }));
              const { multiplier, shift } = encodeMultipliers(wScales.map((s) => (xScale * s) / 0.05));
              b.output(b.rescale(y, { multiplier, shift, axis: 1, outDtype: 'int16', name: 'rescale' }));
            }
            model = b.model();
          }
          const outputs = await expectBitExact(model, feeds);
          // The data exercised the interesting cases: relu zeros and positive values.
          const y = outputs.get(model.graph.outputs[0]!.name)!;
          const values = [...(y.data as ArrayLike<number>)];
          expect(values.some((v) => v === 0) && values.some((v) => v > 0)).toBe(true);
        });
      }
    }

    it('int16 x across the whole range, negative and positive bytes, 1-D conv with dilation', async () => {
      const rng = new Xoshiro128(5);
      const b = new IntegerGraphBuilder('conv1d');
      const x = b.input('x', DataType.INT16, [2, 3, 40]);
      const wData = Int8Array.from({ length: 4 * 3 * 5 }, () => (rng.nextUint32() % 256) - 128);
      const w = b.initializer('w', wData, [4, 3, 5]);
      b.output(b.conv(x, w, undefined, { outDtype: 'int32', attributes: { dilations: [3], pads: [4, 0], strides: [2] } }));
      const extremes = [-32768, 32767, -32767, -1, 0, 255, 256, -256, -257];
      const xData = Int16Array.from({ length: 2 * 3 * 40 }, (_, i) => (i < extremes.length * 3 ? extremes[i % extremes.length]! : (rng.nextUint32() % 65536) - 32768));
      await expectBitExact(b.model(), new Map([['x', { dtype: 'int16', shape: [2, 3, 40], data: xData }]]));
    });

    it('auto_pad SAME_UPPER / SAME_LOWER / VALID with stride, depthwise (group = C)', async () => {
      const rng = new Xoshiro128(42);
      const b = new IntegerGraphBuilder('autopad');
      const x = b.input('x', DataType.INT8, [1, 3, 7, 8]);
      const w = b.initializer('w', Int8Array.from({ length: 3 * 9 }, () => (rng.nextUint32() % 256) - 128), [3, 1, 3, 3]);
      for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
        b.output(b.conv(x, w, undefined, { outDtype: 'int32', attributes: { auto_pad: autoPad, strides: [2, 3], group: 3 } }));
      }
      const data = Int8Array.from({ length: 3 * 56 }, () => (rng.nextUint32() % 256) - 128);
      await expectBitExact(b.model(), new Map([['x', { dtype: 'int8', shape: [1, 3, 7, 8], data }]]));
    });

    it('refuses a conv whose reduction length ConvInteger cannot keep exact', () => {
      const b = new IntegerGraphBuilder();
      const x = b.input('x', DataType.INT8, [1, 4000, 3, 3]);
      const w = b.initializer('w', new Int8Array(4000 * 9), [1, 4000, 3, 3]);
      b.output(b.conv(x, w, undefined, { outDtype: 'int32', name: 'wide' }));
      expect(4000 * 9).toBeGreaterThan(CONV_MAX_K);
      expect(() => lowerToStandard(b.model())).toThrow(QuantkitError);
      expect(() => lowerToStandard(b.model())).toThrow(/wide/);
    });
  });

  describe('MatMul and Gemm', () => {
    it('MatMul int16 × int8 (per-channel on axis 1 of [K, N]) with bias → int16, and → float32', async () => {
      const aData = normals(200, 2 * 5 * 16, 2);
      const aScale = scaleFromAmax(absMax(aData), 'qint16');
      const { q: wq, scales } = quantizeWeights(normals(201, 16 * 8, 0.3), [16, 8], 1);
      const bias = Int32Array.from(normals(202, 8), (v, c) => Math.round(v / (aScale * scales[c]!)));
      const outScale = scaleFromAmax(4, 'qint16');
      const { multiplier, shift } = encodeMultipliers(scales.map((s) => (aScale * s) / outScale));
      const b = new IntegerGraphBuilder('matmul');
      const a = b.input('a', DataType.FLOAT, [2, 5, 16]);
      const qa = b.quantize(a, { scale: aScale, dtype: 'int16' });
      const w = b.initializer('w', wq, [16, 8]);
      const bv = b.initializer('bias', bias, [8]);
      b.output(b.matmul(qa, w, bv, { outDtype: 'int16', multiplier, shift, outScale, name: 'mm16' }));
      b.output(b.matmul(qa, w, bv, { outDtype: 'float32', xScale: aScale, wScale: scales, name: 'mmf' }));
      b.output(b.matmul(qa, w, bv, { outDtype: 'int32', clipMin: -5000, clipMax: 3000, name: 'mm32' }));
      await expectBitExact(b.model(), new Map([['a', { dtype: 'float32', shape: [2, 5, 16], data: aData }]]));
    });

    it('MatMul activation × activation: int16 × int16 → int32 → Dequantize, and int16 × int8 → int8', async () => {
      const aData = normals(210, 2 * 4 * 8, 1);
      const bData = normals(211, 2 * 8 * 6, 1);
      const b = new IntegerGraphBuilder('attention');
      const a = b.input('a', DataType.FLOAT, [2, 4, 8]);
      const c = b.input('c', DataType.FLOAT, [2, 8, 6]);
      const [sa, sc] = [scaleFromAmax(absMax(aData), 'qint16'), scaleFromAmax(absMax(bData), 'qint16')];
      const qa = b.quantize(a, { scale: sa, dtype: 'int16' });
      const qc16 = b.quantize(c, { scale: sc, dtype: 'int16' });
      const sc8 = scaleFromAmax(absMax(bData), 'qint8');
      const qc8 = b.quantize(c, { scale: sc8, dtype: 'int8' });
      const acc = b.matmul(qa, qc16, undefined, { outDtype: 'int32', name: 'qk' });
      b.output(b.dequantize(acc, { scale: sa * sc }));
      b.output(acc);
      const { multiplier, shift } = encodeMultipliers([(sa * sc8) / scaleFromAmax(8, 'qint8')]);
      b.output(b.matmul(qa, qc8, undefined, { outDtype: 'int8', multiplier, shift, name: 'qk8' }));
      b.output(b.matmul(qa, qc8, undefined, { outDtype: 'float32', xScale: sa, wScale: [sc8], name: 'qkf' }));
      await expectBitExact(
        b.model(),
        new Map<string, NpyArray>([
          ['a', { dtype: 'float32', shape: [2, 4, 8], data: aData }],
          ['c', { dtype: 'float32', shape: [2, 8, 6], data: bData }],
        ]),
      );
    });

    it('Gemm transB = 1 (int8 × int8 per-channel) with int32 bias → int32 and float32', async () => {
      const aData = normals(220, 3 * 20, 1);
      const aScale = scaleFromAmax(absMax(aData), 'qint8');
      const { q: wq, scales } = quantizeWeights(normals(221, 10 * 20, 0.1), [10, 20], 0);
      const bias = Int32Array.from(normals(222, 10), (v, c) => Math.round(v / (aScale * scales[c]!)));
      const b = new IntegerGraphBuilder('fc');
      const a = b.input('a', DataType.FLOAT, [3, 20]);
      const qa = b.quantize(a, { scale: aScale, dtype: 'int8' });
      const w = b.initializer('w', wq, [10, 20]);
      const c = b.initializer('c', bias, [10]);
      b.output(b.gemm(qa, w, c, { outDtype: 'int32', attributes: { transB: 1 }, name: 'fc32' }));
      b.output(b.gemm(qa, w, c, { outDtype: 'float32', xScale: aScale, wScale: scales, attributes: { transB: 1 }, name: 'fcf' }));
      const outputs = await expectBitExact(b.model(), new Map([['a', { dtype: 'float32', shape: [3, 20], data: aData }]]));
      // The float32 output is close to the float computation it stands for.
      const floatOut = outputs.get(b.graph.outputs[1]!.name)!.data as Float32Array;
      expect(floatOut.length).toBe(30);
    });
  });

  it('Gemm transA = 1 with int16 B and a [M, N] bias', async () => {
    const rng = new Xoshiro128(43);
    const b = new IntegerGraphBuilder('gemm_t');
    const a = b.input('a', DataType.INT16, [6, 4]);
    const w = b.initializer('w', Int16Array.from({ length: 30 }, () => (rng.nextUint32() % 65536) - 32768), [6, 5]);
    const c = b.initializer('c', Int32Array.from({ length: 20 }, () => rng.nextUint32() | 0), [4, 5]);
    b.output(b.gemm(a, w, c, { outDtype: 'int32', attributes: { transA: 1 } }));
    const data = Int16Array.from({ length: 24 }, () => (rng.nextUint32() % 65536) - 32768);
    await expectBitExact(b.model(), new Map([['a', { dtype: 'int16', shape: [6, 4], data }]]));
  });

  describe('Rescale', () => {
    it('agrees on random int32 accumulators for shifts 1..53, exact .5 ties, per channel, with relu and clip', async () => {
      const rng = new Xoshiro128(300);
      const channels = 53;
      // Even channels: multiplier 3 · 2^20, so acc = ±(2j + 1) · 2^(shift − 21) puts acc · M exactly on a .5 tie.
      const multiplier = Array.from({ length: channels }, (_, c) => (c % 2 === 0 ? 3 * 2 ** 20 : 2 ** 21 + (rng.nextUint32() % 2 ** 21)));
      const shift = Array.from({ length: channels }, (_, c) => c + 1);
      const b = new IntegerGraphBuilder('rescale');
      const acc = b.input('acc', DataType.INT32, [4, channels, 16]);
      for (const [outDtype, relu, clipMin, clipMax] of [
        ['int8', false, undefined, undefined],
        ['int16', false, undefined, undefined],
        ['int16', true, undefined, 20000],
        ['int8', false, -100, 50],
      ] as const) {
        b.output(b.rescale(acc, { multiplier, shift, axis: 1, outDtype, relu, clipMin, clipMax }));
      }
      b.output(b.rescale(acc, { multiplier: [0], shift: [1], outDtype: 'int8' }));
      const size = 4 * channels * 16;
      let ties = 0;
      const data = Int32Array.from({ length: size }, (_, i) => {
        const c = Math.floor(i / 16) % channels;
        const kind = i % 4;
        if (kind === 0) return rng.nextUint32() | 0;
        if (kind === 1) return i % 8 === 1 ? 2147483647 : -2147483648;
        if (c % 2 === 0 && shift[c]! >= 22) {
          // A small output (|acc · M| < 64) so that the tie is not saturated away.
          const odd = 2 * (rng.nextUint32() % 20) + 1;
          const tie = odd * 2 ** (shift[c]! - 21);
          if (Math.abs(tie) < 2 ** 31) {
            ties++;
            return kind === 2 ? tie : -tie;
          }
        }
        return (rng.nextUint32() % 2001) - 1000;
      });
      expect(ties).toBeGreaterThan(100);
      await expectBitExact(b.model(), new Map([['acc', { dtype: 'int32', shape: [4, channels, 16], data }]]));
    });

    it('rescales int8 and int16 inputs too (int16 → int8 requantization)', async () => {
      const b = new IntegerGraphBuilder();
      const x = b.input('x', DataType.INT16, [1, 3, 5]);
      const { multiplier, shift } = encodeMultipliers([1 / 256, 0.0123, 3.7]);
      b.output(b.rescale(x, { multiplier, shift, axis: 1, outDtype: 'int8' }));
      const x8 = b.input('x8', DataType.INT8, [7]);
      b.output(b.rescale(x8, { ...encodeMultipliers([0.5]), outDtype: 'int8' }));
      const rng = new Xoshiro128(310);
      await expectBitExact(
        b.model(),
        new Map<string, NpyArray>([
          ['x', { dtype: 'int16', shape: [1, 3, 5], data: Int16Array.from({ length: 15 }, () => (rng.nextUint32() % 65536) - 32768) }],
          ['x8', { dtype: 'int8', shape: [7], data: Int8Array.from([-128, -3, -1, 0, 1, 3, 127]) }],
        ]),
      );
    });
  });

  describe('Quantize / Dequantize', () => {
    it('Quantize half-even and bpu, int8 and int16; Dequantize per tensor and per axis, int32 beyond 2^24', async () => {
      const data = normals(400, 3 * 50, 40);
      // Exact ties: k + 0.5 for the scale 0.5.
      for (let i = 0; i < 20; i++) data[i] = (i - 10) * 0.25 + 0.125;
      const b = new IntegerGraphBuilder();
      const x = b.input('x', DataType.FLOAT, [3, 50]);
      for (const dtype of ['int8', 'int16'] as const) {
        for (const rounding of ['half_even', 'bpu'] as const) {
          const q = b.quantize(x, { scale: dtype === 'int8' ? 0.25 : 0.001, dtype, rounding });
          b.output(q);
          b.output(b.dequantize(q, { scale: 0.3 }));
        }
      }
      const big = b.input('big', DataType.INT32, [3, 4]);
      b.output(b.dequantize(big, { scale: [0.1, 1.7, 3e-5], axis: 0 }));
      const rng = new Xoshiro128(401);
      const bigData = Int32Array.from({ length: 12 }, () => rng.nextUint32() | 0);
      await expectBitExact(
        b.model(),
        new Map<string, NpyArray>([
          ['x', { dtype: 'float32', shape: [3, 50], data }],
          ['big', { dtype: 'int32', shape: [3, 4], data: bigData }],
        ]),
      );
    });
  });

  describe('pass-through ops on integer tensors', () => {
    it('MaxPool, Pad, Concat, Transpose, Reshape, Slice, Gather, Flatten, Squeeze, Unsqueeze on int16 and int32', async () => {
      const int64 = (values: number[]) => Tensor.fromArray(BigInt64Array.from(values.map(BigInt)), [values.length]);
      const b = new IntegerGraphBuilder('layout');
      const x = b.input('x', DataType.FLOAT, [1, 2, 6, 6]);
      const q = b.quantize(x, { scale: 0.001, dtype: 'int16' });
      const w = b.initializer('w', Int8Array.from({ length: 2 * 2 * 9 }, (_, i) => ((i * 37) % 255) - 127), [2, 2, 3, 3]);
      const acc = b.conv(q, w, undefined, { outDtype: 'int32', attributes: { pads: [1, 1, 1, 1] } });
      const chain = (input: Value, tag: string): Value => {
        const k = (n: string, t: Tensor) => b.initializer(`${tag}_${n}`, t);
        const [pool] = b.node('MaxPool', [input], { attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } });
        const [pad] = b.node('Pad', [pool!, k('pads', int64([0, 0, 1, 0, 0, 0, 0, 2]))]);
        const [cat] = b.node('Concat', [pad!, pad!], { attributes: { axis: 1 } });
        const [tr] = b.node('Transpose', [cat!], { attributes: { perm: [0, 2, 3, 1] } });
        const [re] = b.node('Reshape', [tr!, k('shape', int64([1, -1, 4]))]);
        const [sl] = b.node('Slice', [re!, k('starts', int64([-1])), k('ends', int64([0])), k('axes', int64([1])), k('steps', int64([-2]))]);
        const [ga] = b.node('Gather', [sl!, k('idx', int64([3, 0, -1]))], { attributes: { axis: 2 } });
        const [fl] = b.node('Flatten', [ga!], { attributes: { axis: 2 } });
        const [un] = b.node('Unsqueeze', [fl!, k('axes0', int64([0]))]);
        const [sq] = b.node('Squeeze', [un!, k('axes1', int64([0]))]);
        b.output(pool!);
        return sq!;
      };
      b.output(chain(q, 'i16'));
      b.output(chain(acc, 'i32'));
      const feeds = new Map([['x', { dtype: 'float32', shape: [1, 2, 6, 6], data: normals(500, 72, 10) } as NpyArray]]);
      const outputs = await expectBitExact(b.model(), feeds);
      expect([...outputs.values()].map((o) => o.dtype)).toEqual(['int16', 'int16', 'int32', 'int32']);
    });
  });

  describe('VPU float island between Dequantize and Quantize', () => {
    it('LayerNormalization: floats within float32 rounding; the integers bit-exact given those floats', async () => {
      const xData = normals(600, 2 * 10 * 32, 2);
      const xScale = scaleFromAmax(absMax(xData), 'qint16');
      const b = new IntegerGraphBuilder('island');
      const x = b.input('x', DataType.FLOAT, [2, 10, 32]);
      const q = b.quantize(x, { scale: xScale, dtype: 'int16', unit: 'bpu' });
      const dq = b.dequantize(q, { scale: xScale, unit: 'vpu' });
      const gamma = b.initializer('gamma', normals(601, 32, 0.5), [32]);
      const beta = b.initializer('beta', normals(602, 32, 0.1), [32]);
      const norm = b.vpu('LayerNormalization', [dq, gamma, beta], { axis: -1, epsilon: 1e-5 }, 'ln');
      const outScale = scaleFromAmax(3, 'qint8');
      const requant = b.quantize(norm, { scale: outScale, dtype: 'int8', unit: 'vpu', name: 'ln_quant' });
      const { q: wq, scales } = quantizeWeights(normals(603, 32 * 16, 0.2), [32, 16], 1);
      const w = b.initializer('w', wq, [32, 16]);
      const y = b.matmul(requant, w, undefined, { outDtype: 'float32', xScale: outScale, wScale: scales });
      b.output(q);
      b.output(norm);
      b.output(requant);
      b.output(y);
      const model = b.model();
      const feeds = new Map([['x', { dtype: 'float32', shape: [2, 10, 32], data: xData } as NpyArray]]);
      await expectBitExact(model, feeds, [q.name]);
      const expected = interpret(model, feeds);
      const actual = await runOrt(model, feeds, 'all');
      const [floatsOrt, floatsRef] = [actual.get(norm.name)!.data as Float32Array, expected.get(norm.name)!.data as Float32Array];
      for (let i = 0; i < floatsRef.length; i++) {
        expect(Math.abs(floatsOrt[i]! - floatsRef[i]!)).toBeLessThanOrEqual(4 * 2 ** -23 * Math.max(1, Math.abs(floatsRef[i]!)));
      }
      // Quantize and the MatMul after it, on onnxruntime's float values, reproduce onnxruntime's integers exactly.
      const tail = new IntegerGraphBuilder('tail');
      const n = tail.input('n', DataType.FLOAT, [2, 10, 32]);
      const rq = tail.quantize(n, { scale: outScale, dtype: 'int8' });
      tail.output(rq);
      tail.output(tail.matmul(rq, tail.initializer('w', wq, [32, 16]), undefined, { outDtype: 'float32', xScale: outScale, wScale: scales }));
      const replay = [...interpret(tail.model(), new Map([['n', { dtype: 'float32', shape: [2, 10, 32], data: floatsOrt } as NpyArray]])).values()];
      expect(bits(replay[0]!)).toEqual(bits(actual.get(requant.name)!));
      expect(bits(replay[1]!)).toEqual(bits(actual.get(y.name)!));
    });
  });
});
