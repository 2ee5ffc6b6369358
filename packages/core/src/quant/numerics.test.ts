import { describe, expect, it } from 'vitest';
import {
  absMaxPerChannel,
  absMaxPerTensor,
  channelLayout,
  fakeQuantize,
  fakeQuantizePerChannel,
  forEachChannelRun,
  MIN_SCALE,
  minMaxPerChannel,
  minMaxPerTensor,
  quantizeValue,
  roundBpu,
  roundHalfEven,
  scaleFromAmax,
} from './numerics.js';
import { codeOf } from '../testing/error-of.js';

describe('roundHalfEven', () => {
  it('rounds .5 boundaries to the even neighbour', () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [3.5, 4],
      [-0.5, 0],
      [-1.5, -2],
      [-2.5, -2],
      [127.5, 128],
      [-128.5, -128],
    ];
    for (const [x, expected] of cases) expect(roundHalfEven(x), `${x}`).toBe(expected);
  });

  it('rounds non-ties to the nearest integer and never returns -0', () => {
    expect(roundHalfEven(2.4999999)).toBe(2);
    expect(roundHalfEven(2.5000001)).toBe(3);
    expect(roundHalfEven(-2.5000001)).toBe(-3);
    expect(Object.is(roundHalfEven(-0.3), 0)).toBe(true);
    expect(roundHalfEven(2 ** 53)).toBe(2 ** 53);
  });
});

describe('roundBpu', () => {
  it('is floor(x + 0.5): ties go toward +infinity', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4].map(roundBpu)).toEqual([1, 2, 3, 0, -1, -2, 2]);
  });
});

describe('scaleFromAmax', () => {
  it('divides by 127.5 for int8 and 32767.5 for int16, in float32', () => {
    expect(scaleFromAmax(127.5, 'qint8')).toBe(1);
    expect(scaleFromAmax(32767.5, 'qint16')).toBe(1);
    expect(scaleFromAmax(1, 'qint8')).toBe(Math.fround(1 / 127.5));
    expect(scaleFromAmax(1, 'qint16')).toBe(Math.fround(1 / 32767.5));
  });

  it('gives MIN_SCALE for amax 0 and for amaxes too small to be above it', () => {
    expect(scaleFromAmax(0, 'qint8')).toBe(MIN_SCALE);
    expect(scaleFromAmax(1e-9, 'qint16')).toBe(MIN_SCALE);
    expect(MIN_SCALE).toBe(Math.fround(MIN_SCALE));
  });

  it('refuses negative and non-finite amax with QK_CALIB_DATA', () => {
    for (const amax of [-1, NaN, Infinity]) expect(codeOf(() => scaleFromAmax(amax, 'qint8'))).toBe('QK_CALIB_DATA');
  });
});

describe('quantizeValue', () => {
  it('saturates at qmin / qmax', () => {
    expect(quantizeValue(1000, 1, 'qint8')).toBe(127);
    expect(quantizeValue(-1000, 1, 'qint8')).toBe(-128);
    expect(quantizeValue(127.5, 1, 'qint8')).toBe(127);
    expect(quantizeValue(-128.5, 1, 'qint8')).toBe(-128);
    expect(quantizeValue(1e9, 1, 'qint16')).toBe(32767);
    expect(quantizeValue(-1e9, 1, 'qint16')).toBe(-32768);
    expect(quantizeValue(Infinity, 1, 'qint8')).toBe(127);
    expect(quantizeValue(-Infinity, 1, 'qint16')).toBe(-32768);
  });

  it('maps amax to 127 and -amax to -128 at the Horizon scale (amax / 127.5)', () => {
    const scale = scaleFromAmax(3, 'qint8');
    expect(quantizeValue(3, scale, 'qint8')).toBe(127);
    expect(quantizeValue(-3, scale, 'qint8')).toBe(-128);
  });

  it('rounds ties per the rounding mode', () => {
    expect(quantizeValue(2.5, 1, 'qint8')).toBe(2);
    expect(quantizeValue(2.5, 1, 'qint8', 'bpu')).toBe(3);
    expect(quantizeValue(-2.5, 1, 'qint8', 'bpu')).toBe(-2);
  });

  it('rounds the float32 quotient, as onnxruntime does, not the float64 one', () => {
    // x / s is 98.5000031 in float64 but exactly 98.5 in float32, a tie that goes to 98.
    const x = 5.203873634338379;
    const s = 0.05283120274543762;
    expect(x / s).toBeGreaterThan(98.5);
    expect(quantizeValue(x, s, 'qint8')).toBe(98);
    // 64.50000014 in float64, 64.5 in float32.
    expect(quantizeValue(5.0657572746276855, 0.07853887230157852, 'qint8')).toBe(64);
  });
});

describe('fakeQuantize', () => {
  it('quantizes, saturates and dequantizes into a Float32Array', () => {
    const data = new Float32Array([0, 0.26, -0.26, 0.25, 0.75, 100, -100]);
    const out = fakeQuantize(data, 0.5, 'qint8');
    expect(Array.from(out)).toEqual([0, 0.5, -0.5, 0, 1, 63.5, -64]);
    expect(Object.is(fakeQuantize(new Float32Array([-0.1]), 1, 'qint8')[0], 0)).toBe(true);
  });

  it('writes in place when out is the input', () => {
    const data = new Float32Array([1.2, -3.7]);
    expect(fakeQuantize(data, 1, 'qint8', 'bpu', data)).toBe(data);
    expect(Array.from(data)).toEqual([1, -4]);
  });

  it('matches quantizeValue times scale rounded to float32', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 4);
    const scale = scaleFromAmax(absMaxPerTensor(data) * 0.7, 'qint8');
    const out = fakeQuantize(data, scale, 'qint8');
    data.forEach((x, i) => expect(out[i]).toBe(Math.fround(quantizeValue(x, scale, 'qint8') * scale)));
  });

  it('uses one scale per channel', () => {
    const data = new Float32Array([1.4, 1.4, 1.4, 1.4, 1.4, 1.4]);
    const out = fakeQuantizePerChannel(data, [2, 3], 1, [1, 0.5, 0.25], 'qint8');
    expect(Array.from(out)).toEqual([1, 1.5, 1.5, 1, 1.5, 1.5]);
  });

  it('refuses a scale count that does not match the channels', () => {
    expect(codeOf(() => fakeQuantizePerChannel(new Float32Array(6), [2, 3], 0, [1], 'qint8'))).toBe('QK_TENSOR_DATA');
  });
});

describe('channel layout', () => {
  it('splits dims around the axis, negative axes counting from the end', () => {
    expect(channelLayout([2, 3, 4, 5], 1)).toEqual({ outer: 2, channels: 3, inner: 20 });
    expect(channelLayout([2, 3, 4, 5], -1)).toEqual({ outer: 24, channels: 5, inner: 1 });
    expect(channelLayout([7], 0)).toEqual({ outer: 1, channels: 7, inner: 1 });
  });

  it('refuses an axis out of range', () => {
    expect(codeOf(() => channelLayout([2, 3], 2))).toBe('QK_TENSOR_DATA');
    expect(codeOf(() => channelLayout([2, 3], -3))).toBe('QK_TENSOR_DATA');
  });

  it('visits each channel run in memory order', () => {
    const runs: number[][] = [];
    forEachChannelRun(channelLayout([2, 3, 2], 1), (c, start, end) => runs.push([c, start, end]));
    expect(runs).toEqual([
      [0, 0, 2],
      [1, 2, 4],
      [2, 4, 6],
      [0, 6, 8],
      [1, 8, 10],
      [2, 10, 12],
    ]);
  });
});

describe('absMax and minMax', () => {
  // dims [2, 3, 2], channel axis 1: channel c holds elements 2c, 2c+1, 6+2c, 7+2c.
  const data = new Float32Array([1, -2, 3, 0.5, -7, 2, 4, 0, -1, 6, 0.25, -0.5]);

  it('absMaxPerChannel on a hand-computed tensor', () => {
    expect(Array.from(absMaxPerChannel(data, [2, 3, 2], 1))).toEqual([4, 6, 7]);
    expect(Array.from(absMaxPerChannel(data, [2, 3, 2], 0))).toEqual([7, 6]);
    expect(Array.from(absMaxPerChannel(data, [2, 3, 2], 2))).toEqual([7, 6]);
  });

  it('minMaxPerChannel on a hand-computed tensor', () => {
    const { min, max } = minMaxPerChannel(data, [2, 3, 2], 1);
    expect(Array.from(min)).toEqual([-2, -1, -7]);
    expect(Array.from(max)).toEqual([4, 6, 2]);
  });

  it('per tensor, with empty and NaN rules', () => {
    expect(absMaxPerTensor(data)).toBe(7);
    expect(minMaxPerTensor(data)).toEqual({ min: -7, max: 6 });
    expect(absMaxPerTensor(new Float32Array(0))).toBe(0);
    expect(minMaxPerTensor(new Float32Array(0))).toEqual({ min: Infinity, max: -Infinity });
    expect(absMaxPerTensor(new Float32Array([1, NaN, 3]))).toBeNaN();
    expect(minMaxPerTensor(new Float32Array([1, NaN, 3]))).toEqual({ min: NaN, max: NaN });
    expect(absMaxPerTensor(new Float32Array([1, -Infinity]))).toBe(Infinity);
  });

  it('a NaN spoils only its own channel', () => {
    const nan = new Float32Array([1, 2, NaN, 4]);
    expect(Array.from(absMaxPerChannel(nan, [2, 2], 1))).toEqual([NaN, 4]);
    expect(Array.from(minMaxPerChannel(nan, [2, 2], 1).max)).toEqual([NaN, 4]);
  });

  it('refuses data whose length does not match the dims', () => {
    expect(codeOf(() => absMaxPerChannel(data, [5, 2], 0))).toBe('QK_TENSOR_DATA');
  });
});
