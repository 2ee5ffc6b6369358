import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { Xoshiro128 } from '../data/random.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';
import { IntegerGraphBuilder } from './integer-builder.js';
import { DOUBLE_INT16_ACC_SHIFT, type NarrowDtype } from './integer-ops.js';
import { interpret } from './interpreter.js';
import { lowerToStandard } from './lower.js';
import { encodeMultipliers } from './requant.js';

/**
 * int16 weights in the lowering to onnxruntime (lower.ts cases 4, 4b, 5): each GEMM kind with an int16 weight, int8
 * and int16 activations, with and without the double-int16 acc_shift, runs in the interpreter and, lowered, in
 * onnxruntime; every output agrees bit for bit. Operands cover their whole range (both bytes negative, zero and
 * positive, the extremes), so every byte split and every factor is exercised.
 */

async function expectBitExact(model: Model, feeds: Map<string, NpyArray>): Promise<Map<string, NpyArray>> {
  const expected = interpret(model, feeds);
  const session = await createSession(encodeModel(lowerToStandard(decodeModel(encodeModel(model)))), { threads: 1 });
  try {
    const actual = await runSession(session, feeds);
    for (const [name, want] of expected) {
      const got = actual.get(name)!;
      expect({ name, dtype: got.dtype, dims: [...got.dims] }).toEqual({ name, dtype: want.dtype, dims: want.shape });
      const a = [...(got.data as ArrayLike<number>)];
      const b = [...(want.data as ArrayLike<number>)];
      const mismatch = a.findIndex((v, i) => v !== b[i]);
      expect({ name, mismatch, got: a[mismatch], want: b[mismatch] }).toEqual({ name, mismatch: -1, got: undefined, want: undefined });
    }
  } finally {
    await releaseSession(session);
  }
  return expected;
}

const EXTREMES16 = [-32768, 32767, -32767, -257, -256, -255, -1, 0, 1, 255, 256, 257];

/** int16 values over the whole range, the byte boundaries first. */
function int16s(rng: Xoshiro128, size: number): Int16Array {
  return Int16Array.from({ length: size }, (_, i) => (i < EXTREMES16.length ? EXTREMES16[i]! : (rng.nextUint32() % 65536) - 32768));
}

function int8s(rng: Xoshiro128, size: number): Int8Array {
  return Int8Array.from({ length: size }, (_, i) => (i < 2 ? [-128, 127][i]! : (rng.nextUint32() % 256) - 128));
}

function activations(rng: Xoshiro128, dtype: NarrowDtype, size: number): NpyArray {
  return dtype === 'int8' ? { dtype: 'int8', shape: [], data: int8s(rng, size) } : { dtype: 'int16', shape: [], data: int16s(rng, size) };
}

const ONNX: Record<NarrowDtype, number> = { int8: DataType.INT8, int16: DataType.INT16 };

/** The int32 accumulator, and an int16 output through a per-channel multiplier (the two output stages int16 weights take). */
function outputsOf(channels: number): { multiplier: number[]; shift: number[] } {
  return encodeMultipliers(Array.from({ length: channels }, (_, c) => 2 ** -20 * (1 + c / channels)));
}

describe('lowerToStandard: int16 weights', () => {
  for (const xDtype of ['int8', 'int16'] as NarrowDtype[]) {
    const accShift = xDtype === 'int16' ? DOUBLE_INT16_ACC_SHIFT : 0;
    it(`Conv: ${xDtype} x × int16 w (acc_shift ${accShift}), group 2, pads, bias → int32 and int16`, async () => {
      const rng = new Xoshiro128(xDtype === 'int8' ? 11 : 12);
      const b = new IntegerGraphBuilder('conv16');
      const x = b.input('x', ONNX[xDtype], [1, 4, 7, 6]);
      const w = b.initializer('w', int16s(rng, 6 * 2 * 9), [6, 2, 3, 3]);
      const bias = b.initializer('b', Int32Array.from({ length: 6 }, () => (rng.nextUint32() % 2_000_001) - 1_000_000), [6]);
      const attributes = { pads: [1, 0, 1, 2], strides: [1, 2], group: 2, acc_shift: accShift };
      b.output(b.conv(x, w, bias, { outDtype: 'int32', name: 'acc', attributes }));
      b.output(b.conv(x, w, bias, { outDtype: 'int16', ...outputsOf(6), relu: true, name: 'y', attributes }));
      const feed = activations(rng, xDtype, 4 * 7 * 6);
      const outputs = await expectBitExact(b.model(), new Map([['x', { ...feed, shape: [1, 4, 7, 6] }]]));
      // The operands reached both saturation ends of the int32 accumulator only where they should: some, not all.
      const acc = [...(outputs.get(b.model().graph.outputs[0]!.name)!.data as Int32Array)];
      expect(new Set(acc).size).toBeGreaterThan(acc.length / 2);
    });

    it(`ConvTranspose: ${xDtype} x × int16 w (acc_shift ${accShift}), split into passes over the input channels`, async () => {
      const rng = new Xoshiro128(xDtype === 'int8' ? 21 : 22);
      // 40 channels × 9 taps exceed one float32 pass for int16 weights (1024 / 2 / 2 = 256 for int16 x): several passes.
      const b = new IntegerGraphBuilder('deconv16');
      const x = b.input('x', ONNX[xDtype], [1, 40, 3, 4]);
      const w = b.initializer('w', int16s(rng, 40 * 3 * 9), [40, 3, 3, 3]);
      const bias = b.initializer('b', Int32Array.from({ length: 3 }, (_, c) => (c - 1) * 1_000_003), [3]);
      const attributes = { strides: [2, 2], pads: [1, 1, 0, 0], acc_shift: accShift };
      b.output(b.convTranspose(x, w, bias, { outDtype: 'int32', name: 'acc', attributes }));
      b.output(b.convTranspose(x, w, bias, { outDtype: 'int8', ...outputsOf(3), name: 'y', attributes }));
      const feed = activations(rng, xDtype, 40 * 12);
      await expectBitExact(b.model(), new Map([['x', { ...feed, shape: [1, 40, 3, 4] }]]));
    });

    it(`Gemm transB = 1 and MatMul: ${xDtype} × int16 w (acc_shift ${accShift}) with bias → int32 and int16`, async () => {
      const rng = new Xoshiro128(xDtype === 'int8' ? 31 : 32);
      const b = new IntegerGraphBuilder('fc16');
      const a = b.input('a', ONNX[xDtype], [3, 50]);
      const wt = b.initializer('wt', int16s(rng, 7 * 50), [7, 50]);
      const w = b.initializer('w', int16s(rng, 50 * 7), [50, 7]);
      const bias = b.initializer('c', Int32Array.from({ length: 7 }, (_, c) => (c - 3) * 123_457), [7]);
      const attributes = { acc_shift: accShift };
      b.output(b.gemm(a, wt, bias, { outDtype: 'int32', name: 'gemm32', attributes: { ...attributes, transB: 1 } }));
      b.output(b.gemm(a, wt, bias, { outDtype: 'int16', ...outputsOf(7), name: 'gemm16', attributes: { ...attributes, transB: 1 } }));
      b.output(b.matmul(a, w, bias, { outDtype: 'int32', name: 'mm32', attributes }));
      b.output(b.matmul(a, w, bias, { outDtype: 'int16', ...outputsOf(7), name: 'mm16', attributes }));
      const feed = activations(rng, xDtype, 3 * 50);
      await expectBitExact(b.model(), new Map([['a', { ...feed, shape: [3, 50] }]]));
    });
  }

  it('acc_shift rounds the exact sum half up before the bias: 1 · 384 → 2, −384 → −1 (shift 8)', async () => {
    const b = new IntegerGraphBuilder('shift');
    const a = b.input('a', DataType.INT16, [4, 1]);
    const w = b.initializer('w', Int16Array.of(384), [1, 1]);
    const bias = b.initializer('c', Int32Array.of(10), [1]);
    b.output(b.matmul(a, w, bias, { outDtype: 'int32', name: 'mm', attributes: { acc_shift: 8 } }));
    const data = Int16Array.of(1, -1, 2, -2);
    const outputs = await expectBitExact(b.model(), new Map([['a', { dtype: 'int16', shape: [4, 1], data }]]));
    // 384 / 256 = 1.5 → 2; −1.5 → −1; 3 → 3; −3 → −3; then + 10.
    expect([...(outputs.values().next().value!.data as Int32Array)]).toEqual([12, 9, 13, 7]);
  });
});
