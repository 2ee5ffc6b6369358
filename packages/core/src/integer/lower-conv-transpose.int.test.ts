import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { Xoshiro128 } from '../data/random.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';
import { IntegerGraphBuilder } from './integer-builder.js';
import type { NarrowDtype, OutDtype } from './integer-ops.js';
import { interpret } from './interpreter.js';
import { CONV_TRANSPOSE_MAX_K, lowerToStandard } from './lower.js';
import { encodeMultipliers } from './requant.js';

/**
 * quantkit::ConvTranspose: the interpreter (a scatter loop) and the onnxruntime lowering (float32 ConvTranspose
 * passes over channel slices, summed in float64) compute the same integers, bit for bit; and both agree with a
 * plain definition of the transposed conv (every output sums x · w over the input pixels that reach it).
 */

async function runOrt(model: Model, feeds: Map<string, NpyArray>): Promise<Map<string, NpyArray>> {
  const session = await createSession(encodeModel(lowerToStandard(decodeModel(encodeModel(model)))), { threads: 1 });
  try {
    const outputs = await runSession(session, feeds);
    return new Map([...outputs].map(([name, t]) => [name, { dtype: t.dtype, shape: [...t.dims], data: t.data } as NpyArray]));
  } finally {
    await releaseSession(session);
  }
}

async function expectBitExact(model: Model, feeds: Map<string, NpyArray>): Promise<Map<string, NpyArray>> {
  const expected = interpret(model, feeds);
  const actual = await runOrt(model, feeds);
  for (const [name, want] of expected) {
    const got = actual.get(name)!;
    expect({ name, dtype: got.dtype, shape: got.shape }).toEqual({ name, dtype: want.dtype, shape: want.shape });
    const mismatch = [...(got.data as ArrayLike<number>)].findIndex((v, i) => v !== want.data[i]);
    expect({ name, mismatch }).toEqual({ name, mismatch: -1 });
  }
  return expected;
}

function randomInts(rng: Xoshiro128, length: number, dtype: NarrowDtype): Int8Array | Int16Array {
  return dtype === 'int8'
    ? Int8Array.from({ length }, () => (rng.nextUint32() % 256) - 128)
    : Int16Array.from({ length }, () => (rng.nextUint32() % 65536) - 32768);
}

/** The definition, 2-D, explicit pads: y[n, m, oy, ox] = Σ x[n, c, iy, ix] · w[c, m, oy + pb − iy·s, …]. */
function reference(
  x: ArrayLike<number>,
  [n, c, h, wd]: number[],
  w: ArrayLike<number>,
  [, mg, kh, kw]: number[],
  { strides: [sh, sw], pads: [pt, pl, pb, pr], outputPadding: [ph, pw] }: { strides: number[]; pads: number[]; outputPadding: number[] },
): { shape: number[]; data: Float64Array } {
  const oh = sh! * (h! - 1) + ph! + kh! - pt! - pb!;
  const ow = sw! * (wd! - 1) + pw! + kw! - pl! - pr!;
  const data = new Float64Array(n! * mg! * oh * ow);
  for (let b = 0; b < n!; b++)
    for (let m = 0; m < mg!; m++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let sum = 0;
          for (let ic = 0; ic < c!; ic++)
            for (let iy = 0; iy < h!; iy++)
              for (let ix = 0; ix < wd!; ix++) {
                const ky = oy + pt! - iy * sh!;
                const kx = ox + pl! - ix * sw!;
                if (ky < 0 || ky >= kh! || kx < 0 || kx >= kw!) continue;
                sum += x[((b * c! + ic) * h! + iy) * wd! + ix]! * w[((ic * mg! + m) * kh! + ky) * kw! + kx]!;
              }
          data[((b * mg! + m) * oh + oy) * ow + ox] = sum;
        }
  return { shape: [n!, mg!, oh, ow], data };
}

describe('quantkit::ConvTranspose', () => {
  for (const xDtype of ['int8', 'int16'] as NarrowDtype[]) {
    it(`${xDtype} x, stride 2, pads, output_padding: int32 out equals the definition, bit-exact in onnxruntime`, async () => {
      const rng = new Xoshiro128(xDtype === 'int8' ? 11 : 12);
      const [xDims, wDims] = [[2, 5, 4, 3], [5, 3, 3, 3]];
      const xData = randomInts(rng, 2 * 5 * 4 * 3, xDtype);
      const wData = randomInts(rng, 5 * 3 * 9, 'int8');
      const attributes = { strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 0] };
      const b = new IntegerGraphBuilder('convt');
      const x = b.input('x', xDtype === 'int8' ? DataType.INT8 : DataType.INT16, xDims);
      b.output(b.convTranspose(x, b.initializer('w', wData, wDims), undefined, { outDtype: 'int32', attributes }));
      const outputs = await expectBitExact(b.model(), new Map([['x', { dtype: xDtype, shape: xDims, data: xData }]]));
      const y = [...outputs.values()][0]!;
      const want = reference(xData, xDims, wData, wDims, { strides: [2, 2], pads: [1, 0, 0, 1], outputPadding: [1, 0] });
      expect(y.shape).toEqual(want.shape);
      expect([...(y.data as Int32Array)]).toEqual([...want.data]);
    });
  }

  const outDtypes: OutDtype[] = ['int8', 'int16', 'float32'];
  for (const outDtype of outDtypes) {
    it(`int8 x, bias, relu, group 2, dilation 2: ${outDtype} out bit-exact`, async () => {
      const rng = new Xoshiro128(20 + outDtypes.indexOf(outDtype));
      const xDims = [1, 4, 5, 6];
      const wDims = [4, 3, 2, 3];
      const wScale = Array.from({ length: 6 }, (_, c) => 0.01 + c * 0.002);
      const xScale = 0.05;
      const { multiplier, shift } = encodeMultipliers(wScale.map((s) => (xScale * s) / (outDtype === 'int8' ? 4 : 0.02)));
      const b = new IntegerGraphBuilder('convt');
      const x = b.input('x', DataType.INT8, xDims);
      const bias = b.initializer('b', Int32Array.from({ length: 6 }, () => (rng.nextUint32() % 20001) - 10000), [6]);
      const y = b.convTranspose(x, b.initializer('w', randomInts(rng, 4 * 3 * 6, 'int8'), wDims), bias, {
        outDtype,
        xScale,
        wScale,
        relu: true,
        ...(outDtype === 'float32' ? {} : { multiplier, shift }),
        attributes: { group: 2, dilations: [2, 2], strides: [2, 1], pads: [0, 1, 1, 0] },
      });
      b.output(y);
      const outputs = await expectBitExact(b.model(), new Map([['x', { dtype: 'int8', shape: xDims, data: randomInts(rng, 120, 'int8') }]]));
      const values = [...([...outputs.values()][0]!.data as ArrayLike<number>)];
      expect(values.some((v) => v === 0) && values.some((v) => v > 0)).toBe(true);
    });
  }

  for (const xDtype of ['int8', 'int16'] as NarrowDtype[]) {
    it(`${xDtype} x with a reduction length beyond one float32 pass: split over input channels, still exact`, async () => {
      const rng = new Xoshiro128(xDtype === 'int8' ? 31 : 32);
      const channels = 300;
      expect(channels * 4).toBeGreaterThan(CONV_TRANSPOSE_MAX_K);
      const xDims = [1, channels, 2, 2];
      const wDims = [channels, 2, 2, 2];
      // Extreme values: the largest products, all of one sign, so any inexact float32 sum would show.
      const xData = xDtype === 'int8' ? new Int8Array(channels * 4).fill(-128) : new Int16Array(channels * 4).fill(-32768);
      xData[0] = xDtype === 'int8' ? 127 : 32767;
      const wData = new Int8Array(channels * 8).fill(-128);
      wData[1] = 127;
      const b = new IntegerGraphBuilder('wide');
      const x = b.input('x', xDtype === 'int8' ? DataType.INT8 : DataType.INT16, xDims);
      // Stride 1: the centre outputs sum all 4 taps of all 300 channels, |Σ| > 2^24 for int8 already.
      b.output(b.convTranspose(x, b.initializer('w', wData, wDims), undefined, { outDtype: 'int32', attributes: { strides: [1, 1] } }));
      b.output(
        b.convTranspose(x, b.initializer('w2', randomInts(rng, channels * 8, 'int8'), wDims), undefined, {
          outDtype: 'int32',
          attributes: { strides: [2, 2] },
        }),
      );
      const outputs = await expectBitExact(b.model(), new Map([['x', { dtype: xDtype, shape: xDims, data: xData }]]));
      const first = [...outputs.values()][0]!;
      const want = reference(xData, xDims, wData, wDims, { strides: [1, 1], pads: [0, 0, 0, 0], outputPadding: [0, 0] });
      expect(Math.max(...[...want.data].map(Math.abs))).toBeGreaterThan(2 ** 24);
      expect([...(first.data as Int32Array)]).toEqual([...want.data].map((v) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, v))));
    });
  }

  it('refuses a grouped ConvTranspose whose reduction length one float32 pass cannot keep exact', () => {
    const b = new IntegerGraphBuilder();
    const x = b.input('x', DataType.INT8, [1, 2400, 3, 3]);
    const w = b.initializer('w', new Int8Array(2400 * 9), [2400, 1, 3, 3]);
    b.output(b.convTranspose(x, w, undefined, { outDtype: 'int32', name: 'wide', attributes: { group: 2 } }));
    expect(() => lowerToStandard(b.model())).toThrow(QuantkitError);
  });
});
