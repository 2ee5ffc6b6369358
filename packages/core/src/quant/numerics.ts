import { QuantkitError } from '../errors/quantkit-error.js';
import { QRANGE, scaleDivisor } from './qtypes.js';
import type { QuantDtype } from './qtypes.js';

/**
 * Symmetric quantization arithmetic, bit-compatible with onnxruntime's QuantizeLinear / DequantizeLinear
 * (zero point 0) and with Horizon's scale convention (DESIGN §5).
 *
 * Float32 semantics: tensors and scales are float32 in ONNX, so every quotient and product is rounded to float32
 * exactly as onnxruntime rounds it. A float32 ÷ or × computed in float64 and then rounded with `Math.fround` (or by
 * storing into a Float32Array) gives the correctly rounded float32 result, because a float64 carries more than
 * twice float32's precision; so `Math.fround(x / scale)` is onnxruntime's `x / scale`, bit for bit.
 */

/** `'half-even'`: onnxruntime's QuantizeLinear (the default). `'bpu'`: Horizon's BPU, floor(x + 0.5). */
export type Rounding = 'half-even' | 'bpu';

/**
 * The smallest scale quantkit derives: float32 machine epsilon (2^-23), the `eps` floor of PyTorch's and Horizon's
 * observers. It keeps an all-zero tensor (amax 0) from producing scale 0, which QuantizeLinear would divide by.
 */
export const MIN_SCALE = 2 ** -23;

/**
 * 1.5·2^52: a float64 near it has no fraction bits, so x + RINT − RINT rounds x to an integer, ties to even (the
 * FPU's mode), exactly for |x| < 2^51. Beyond that it still returns a value of magnitude ≥ 2^51, which every
 * clamp to [qmin, qmax] saturates correctly; so the fake-quantize loops use it inline, without the range check.
 * Inline because a call that returns a float64 may box the result, allocating once per element.
 */
const RINT = 6755399441055744;
const RINT_LIMIT = 2251799813685248;

/**
 * Round to the nearest integer, ties to even (IEEE 754 roundTiesToEven, C's `nearbyint`): 0.5 → 0, 1.5 → 2,
 * 2.5 → 2, −0.5 → 0, −1.5 → −2. Returns +0, never −0, so results compare equal to integers.
 */
export function roundHalfEven(x: number): number {
  return Math.abs(x) < RINT_LIMIT ? x + RINT - RINT : roundHalfEvenLarge(x);
}

function roundHalfEvenLarge(x: number): number {
  // Math.round ties toward +∞; only an exact tie that landed on an odd integer must step back down.
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Horizon BPU rounding: floor(x + 0.5), ties toward +∞ (0.5 → 1, −0.5 → 0, −1.5 → −1). Exact for float32 inputs,
 * whose sum with 0.5 a float64 holds without rounding.
 */
export function roundBpu(x: number): number {
  return Math.floor(x + 0.5);
}

/**
 * scale = amax / ((qmax − qmin) / 2): ÷127.5 for qint8, ÷32767.5 for qint16, computed in float32. Never below
 * {@link MIN_SCALE}: amax 0 (a tensor that is always zero) gives MIN_SCALE, so every value still quantizes to 0.
 * Throws QK_CALIB_DATA for a negative, NaN or infinite amax (non-finite calibration data).
 */
export function scaleFromAmax(amax: number, dtype: QuantDtype): number {
  if (!(amax >= 0 && amax < Infinity)) {
    throw new QuantkitError('QK_CALIB_DATA', `Cannot derive a ${dtype} scale from amax ${amax}.`, {
      hint: 'amax must be finite and >= 0; check the calibration data for NaN or Infinity.',
    });
  }
  const scale = Math.fround(Math.fround(amax) / scaleDivisor(dtype));
  return scale > MIN_SCALE ? scale : MIN_SCALE;
}

/**
 * q = clamp(round(x / scale), qmin, qmax) with x / scale in float32: onnxruntime's QuantizeLinear for zero point 0
 * (which also saturates ±∞ to qmin / qmax). The result is an integer, +0 for zero.
 */
export function quantizeValue(x: number, scale: number, dtype: QuantDtype, rounding: Rounding = 'half-even'): number {
  const { qmin, qmax } = QRANGE[dtype];
  const v = Math.fround(Math.fround(x) / Math.fround(scale));
  const q = rounding === 'bpu' ? roundBpu(v) : roundHalfEven(v);
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

/**
 * QuantizeLinear followed by DequantizeLinear, per tensor: out[i] = quantize(data[i]) · scale, rounded to float32.
 * Writes into `out` (a new array by default; may be `data` itself) and returns it.
 */
export function fakeQuantize(
  data: Float32Array,
  scale: number,
  dtype: QuantDtype,
  rounding: Rounding = 'half-even',
  out: Float32Array = new Float32Array(data.length),
): Float32Array {
  checkOutLength(data, out);
  fakeQuantizeRun(data, out, 0, data.length, Math.fround(scale), dtype, rounding);
  return out;
}

/**
 * {@link fakeQuantize} with one scale per channel along `axis` of `dims` (negative counts from the end):
 * `scales.length` must equal `dims[axis]`.
 */
export function fakeQuantizePerChannel(
  data: Float32Array,
  dims: readonly number[],
  axis: number,
  scales: ArrayLike<number>,
  dtype: QuantDtype,
  rounding: Rounding = 'half-even',
  out: Float32Array = new Float32Array(data.length),
): Float32Array {
  const layout = channelLayoutOf(data, dims, axis);
  if (scales.length !== layout.channels) {
    const where = `dims [${dims.join(', ')}], axis ${axis}`;
    throw new QuantkitError(
      'QK_TENSOR_DATA',
      `fakeQuantizePerChannel got ${scales.length} scales for ${layout.channels} channels (${where}).`,
    );
  }
  checkOutLength(data, out);
  forEachChannelRun(layout, (channel, start, end) => {
    fakeQuantizeRun(data, out, start, end, Math.fround(scales[channel]!), dtype, rounding);
  });
  return out;
}

function fakeQuantizeRun(
  data: Float32Array,
  out: Float32Array,
  start: number,
  end: number,
  scale: number,
  dtype: QuantDtype,
  rounding: Rounding,
): void {
  const { qmin, qmax } = QRANGE[dtype];
  const bpu = rounding === 'bpu';
  for (let i = start; i < end; i++) {
    const v = Math.fround(data[i]! / scale);
    const r = bpu ? Math.floor(v + 0.5) : v + RINT - RINT;
    out[i] = (r < qmin ? qmin : r > qmax ? qmax : r) * scale;
  }
}

/**
 * For each of `scales`: the sum over one channel's elements of (x − fakeQuantize(x, scale))², fake-quantizing
 * exactly as {@link fakeQuantize} does with round half to even, and summing in float64. Zeros are skipped (they
 * quantize exactly). One pass over the data; the MSE observer's exact search.
 */
export function squaredQuantizationErrors(
  data: Float32Array,
  layout: ChannelLayout,
  channel: number,
  scales: ArrayLike<number>,
  dtype: QuantDtype,
): Float64Array {
  const { qmin, qmax } = QRANGE[dtype];
  const { outer, channels, inner } = layout;
  const s = Float64Array.from(scales, Math.fround);
  const errors = new Float64Array(s.length);
  for (let o = 0; o < outer; o++) {
    const start = (o * channels + channel) * inner;
    for (let i = start; i < start + inner; i++) {
      const x = data[i]!;
      if (x === 0) continue;
      for (let c = 0; c < s.length; c++) {
        const scale = s[c]!;
        const v = Math.fround(x / scale);
        const r = v + RINT - RINT;
        const d = x - Math.fround((r < qmin ? qmin : r > qmax ? qmax : r) * scale);
        errors[c]! += d * d;
      }
    }
  }
  return errors;
}

function checkOutLength(data: Float32Array, out: Float32Array): void {
  if (out.length !== data.length) {
    throw new QuantkitError('QK_TENSOR_DATA', `Output array has ${out.length} elements, input ${data.length}.`);
  }
}

/**
 * How the elements of one channel lie in a row-major tensor: `outer` runs (one per index of the dims before the
 * axis), each `inner` contiguous elements long (the product of the dims after it). Channel c of outer index o
 * occupies [(o·channels + c)·inner, … + inner).
 */
export interface ChannelLayout {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
}

/**
 * The channel layout of a tensor of `dims` along `axis` (negative counts from the end, as in ONNX).
 * Throws QK_TENSOR_DATA if the axis is out of range or a dim is not a non-negative integer.
 */
export function channelLayout(dims: readonly number[], axis: number): ChannelLayout {
  const rank = dims.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new QuantkitError('QK_TENSOR_DATA', `Channel axis ${axis} is out of range for dims [${dims.join(', ')}].`);
  }
  const a = axis < 0 ? axis + rank : axis;
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < rank; d++) {
    const dim = dims[d]!;
    if (!Number.isInteger(dim) || dim < 0) {
      throw new QuantkitError('QK_TENSOR_DATA', `Dims [${dims.join(', ')}] are not non-negative integers.`);
    }
    if (d < a) outer *= dim;
    else if (d > a) inner *= dim;
  }
  return { outer, channels: dims[a]!, inner };
}

/**
 * Calls `fn(channel, start, end)` for every contiguous run of a channel, in memory order: `outer · channels` calls,
 * each covering `inner` elements, with no allocation per element or per run.
 */
export function forEachChannelRun(
  layout: ChannelLayout,
  fn: (channel: number, start: number, end: number) => void,
): void {
  const { outer, channels, inner } = layout;
  let start = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      fn(c, start, start + inner);
      start += inner;
    }
  }
}

/** {@link channelLayout}, also checking that `data` holds exactly the elements `dims` describe. */
export function channelLayoutOf(data: ArrayLike<number>, dims: readonly number[], axis: number): ChannelLayout {
  const layout = channelLayout(dims, axis);
  const size = layout.outer * layout.channels * layout.inner;
  if (size !== data.length) {
    throw new QuantkitError(
      'QK_TENSOR_DATA',
      `Tensor data has ${data.length} elements but dims [${dims.join(', ')}] describe ${size}.`,
    );
  }
  return layout;
}

/** max |x| over `data[start, end)`, or NaN if one of them is NaN; 0 for an empty range. */
function absMaxRun(data: Float32Array, start: number, end: number, initial: number): number {
  let m = initial;
  for (let i = start; i < end; i++) {
    const a = Math.abs(data[i]!);
    // One comparison per element; NaN fails `<=` too and is told apart only on that rare path.
    if (!(a <= m)) {
      if (a !== a) return NaN;
      m = a;
    }
  }
  return m;
}

/** max |x| over the whole tensor: 0 when empty, NaN if any element is NaN, Infinity if one is infinite. */
export function absMaxPerTensor(data: Float32Array): number {
  return absMaxRun(data, 0, data.length, 0);
}

/** max |x| of each channel along `axis`, with the same NaN / Infinity / empty rules as {@link absMaxPerTensor}. */
export function absMaxPerChannel(data: Float32Array, dims: readonly number[], axis: number): Float32Array {
  const layout = channelLayoutOf(data, dims, axis);
  const amax = new Float32Array(layout.channels);
  forEachChannelRun(layout, (channel, start, end) => {
    const m = amax[channel]!;
    if (m === m) amax[channel] = absMaxRun(data, start, end, m);
  });
  return amax;
}

/** Smallest and largest value of a tensor or channel. */
export interface ValueRange {
  min: number;
  max: number;
}

/** Folds data[start, end) into `range`; a NaN element makes both ends NaN. */
function minMaxRun(data: Float32Array, start: number, end: number, range: ValueRange): void {
  let { min, max } = range;
  if (min !== min) return;
  for (let i = start; i < end; i++) {
    const x = data[i]!;
    if (x < min) min = x;
    if (!(x <= max)) {
      if (x !== x) {
        range.min = NaN;
        range.max = NaN;
        return;
      }
      max = x;
    }
  }
  range.min = min;
  range.max = max;
}

/**
 * Smallest and largest element. An empty tensor gives { min: +∞, max: −∞ } (the identities of min / max); any NaN
 * gives NaN for both.
 */
export function minMaxPerTensor(data: Float32Array): ValueRange {
  const range = { min: Infinity, max: -Infinity };
  minMaxRun(data, 0, data.length, range);
  return range;
}

/** {@link minMaxPerTensor} of each channel along `axis`. */
export function minMaxPerChannel(
  data: Float32Array,
  dims: readonly number[],
  axis: number,
): { min: Float32Array; max: Float32Array } {
  const layout = channelLayoutOf(data, dims, axis);
  const ranges = Array.from({ length: layout.channels }, () => ({ min: Infinity, max: -Infinity }));
  forEachChannelRun(layout, (channel, start, end) => minMaxRun(data, start, end, ranges[channel]!));
  return { min: Float32Array.from(ranges, (r) => r.min), max: Float32Array.from(ranges, (r) => r.max) };
}
