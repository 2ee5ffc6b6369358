import { QuantkitError } from '../errors/quantkit-error.js';
import { roundHalfEven } from '../quant/numerics.js';
import { INTEGER_RANGE, MAX_SHIFT, MULTIPLIER_BITS, type IntegerDtype, type NarrowDtype } from './integer-ops.js';

/**
 * Requantization: an accumulator at scale s_acc becomes an int8 / int16 value at scale s_out by multiplying with
 * M = s_acc / s_out. M is stored as an integer multiplier and a shift (M ≈ multiplier · 2^−shift), so the device
 * needs no float unit; see integer-ops.ts for the exact contract.
 *
 * Exactness: |acc| ≤ 2^31 and multiplier < 2^22 keep P = acc · multiplier below 2^53, an exact float64 integer.
 * floor((P + 2^(s−1)) / 2^s) is then computed as q = floor(P / 2^s) plus one when the remainder P − q·2^s is at
 * least 2^(s−1): each step is exact (power-of-two scaling, integers below 2^53), whereas P + 2^(s−1) itself can pass
 * 2^53 for large shifts.
 */

export interface EncodedMultiplier {
  /** 0, or an integer in [2^21, 2^22). */
  multiplier: number;
  /** An integer in [1, MAX_SHIFT]. */
  shift: number;
}

const MULTIPLIER_MIN = 2 ** (MULTIPLIER_BITS - 1);
const MULTIPLIER_LIMIT = 2 ** MULTIPLIER_BITS;
/** Below this M, |acc · M| < 1/2 for every int32 acc: the rescale is 0 whatever the encoding. */
const SMALLEST_M = 2 ** -32;
const INT32_LIMIT = 2 ** 31;

/**
 * Encodes a real multiplier M ≥ 0: multiplier = roundHalfEven(M · 2^shift) with shift chosen so that the multiplier
 * lies in [2^21, 2^22) (relative error ≤ 2^−22). M = 0 and M < 2^−32 encode as multiplier 0; M ≥ 2^21 (after
 * rounding) as (2^22 − 1, 1) — both give the same outputs as M itself for every int32 accumulator (all zero,
 * resp. every nonzero accumulator saturates int8 / int16). `what` names the tensor or node in errors.
 */
export function encodeMultiplier(m: number, what = 'a rescale'): EncodedMultiplier {
  if (!(m >= 0 && m < Infinity)) {
    throw new QuantkitError('QK_RESCALE', `Cannot encode the rescale multiplier M = ${m} of ${what}`, {
      subject: what,
      hint: 'M = s_in / s_out must be finite and >= 0; check the scales of the tensors around it.',
    });
  }
  if (m < SMALLEST_M) return { multiplier: 0, shift: 1 };
  let exponent = Math.floor(Math.log2(m));
  // Math.log2 may be off by one ulp near powers of two; fix the exponent so that 2^e ≤ M < 2^(e+1) exactly.
  while (2 ** exponent > m) exponent--;
  while (2 ** (exponent + 1) <= m) exponent++;
  let shift = MULTIPLIER_BITS - 1 - exponent;
  let multiplier = roundHalfEven(m * 2 ** shift);
  if (multiplier === MULTIPLIER_LIMIT) {
    multiplier = MULTIPLIER_MIN;
    shift -= 1;
  }
  if (shift < 1) return { multiplier: MULTIPLIER_LIMIT - 1, shift: 1 };
  return { multiplier, shift };
}

/** Encodes one multiplier per channel. */
export function encodeMultipliers(ms: ArrayLike<number>, what = 'a rescale'): { multiplier: number[]; shift: number[] } {
  const multiplier: number[] = [];
  const shift: number[] = [];
  for (let c = 0; c < ms.length; c++) {
    const encoded = encodeMultiplier(ms[c]!, ms.length > 1 ? `${what} (channel ${c})` : what);
    multiplier.push(encoded.multiplier);
    shift.push(encoded.shift);
  }
  return { multiplier, shift };
}

/** The real multiplier an encoding stands for: multiplier · 2^−shift (exact in float64). */
export function decodeMultiplier(multiplier: number, shift: number): number {
  return multiplier * 2 ** -shift;
}

/** Inclusive bounds of an output: the dtype's range, narrowed by a fused ReLU and / or Clip. */
export interface OutputBounds {
  lo: number;
  hi: number;
}

export interface ClipBounds {
  min?: number;
  max?: number;
}

/**
 * The dtype's range narrowed by relu (lo ≥ 0) and clip. Throws QK_RESCALE when the bounds are not integers or leave
 * no value.
 */
export function outputBounds(dtype: IntegerDtype, relu = false, clip: ClipBounds = {}, what = 'a rescale'): OutputBounds {
  const range = INTEGER_RANGE[dtype];
  for (const bound of [clip.min, clip.max]) {
    if (bound !== undefined && !Number.isSafeInteger(bound)) {
      throw new QuantkitError('QK_RESCALE', `${what}: clip bound ${bound} is not an integer`, { subject: what });
    }
  }
  const lo = Math.max(range.min, relu ? 0 : -Infinity, clip.min ?? -Infinity);
  const hi = Math.min(range.max, clip.max ?? Infinity);
  if (lo > hi) {
    throw new QuantkitError(
      'QK_RESCALE',
      `${what}: relu / clip [${clip.min ?? '-inf'}, ${clip.max ?? 'inf'}] leaves no ${dtype} value`,
      { subject: what, hint: 'clip_min must not exceed clip_max (nor clip_max be negative with relu).' },
    );
  }
  return { lo, hi };
}

/**
 * Checks a multiplier / shift pair; throws QK_RESCALE naming `what`. Multiplier 0 or [2^21, 2^22), shift an integer
 * in [1, MAX_SHIFT].
 */
export function checkEncoding(multiplier: number, shift: number, what = 'a rescale'): void {
  if (!(multiplier === 0 || (Number.isInteger(multiplier) && multiplier >= MULTIPLIER_MIN && multiplier < MULTIPLIER_LIMIT))) {
    throw new QuantkitError(
      'QK_RESCALE',
      `${what}: multiplier ${multiplier} is not 0 or an integer in [2^${MULTIPLIER_BITS - 1}, 2^${MULTIPLIER_BITS})`,
      { subject: what, hint: 'Encode multipliers with encodeMultiplier.' },
    );
  }
  if (!(Number.isInteger(shift) && shift >= 1 && shift <= MAX_SHIFT)) {
    throw new QuantkitError('QK_RESCALE', `${what}: shift ${shift} is not an integer in [1, ${MAX_SHIFT}]`, {
      subject: what,
      hint: 'Encode multipliers with encodeMultiplier.',
    });
  }
}

/**
 * floor((acc · multiplier + 2^(shift−1)) / 2^shift), unsaturated, for a checked encoding and |acc| ≤ 2^31: acc · M
 * rounded half toward +∞. Exact (see the file comment).
 */
export function roundedProduct(acc: number, multiplier: number, shift: number): number {
  const product = acc * multiplier;
  const scale = 2 ** shift;
  const quotient = Math.floor(product / scale);
  const remainder = product - quotient * scale;
  // + 0 turns the −0 of a negative accumulator times multiplier 0 into +0.
  return (remainder >= scale / 2 ? quotient + 1 : quotient) + 0;
}

/**
 * The Rescale of one accumulator: clamp(saturate(floor((acc · multiplier + 2^(shift−1)) / 2^shift)), lo, hi) with
 * lo / hi from relu and clip. acc must be an integer with |acc| ≤ 2^31.
 */
export function rescale(
  acc: number,
  multiplier: number,
  shift: number,
  outDtype: NarrowDtype,
  relu = false,
  clip: ClipBounds = {},
): number {
  checkEncoding(multiplier, shift);
  if (!(Number.isInteger(acc) && Math.abs(acc) <= INT32_LIMIT)) {
    throw new QuantkitError('QK_RESCALE', `Rescale input ${acc} is not an integer within ±2^31`, {
      hint: 'Saturate the accumulator to int32 first.',
    });
  }
  const { lo, hi } = outputBounds(outDtype, relu, clip);
  const y = roundedProduct(acc, multiplier, shift);
  return y < lo ? lo : y > hi ? hi : y;
}

/** A Rescale's parameters, one multiplier / shift for the tensor or one per channel along `axis`. */
export interface RescaleParams {
  multiplier: readonly number[];
  shift: readonly number[];
  outDtype: NarrowDtype;
  relu?: boolean;
  clip?: ClipBounds;
}

/**
 * Checks the parameters once for a tensor with `channels` channels (undefined: per tensor only) and returns its
 * bounds. `what` names the node in errors.
 */
export function checkRescaleParams(params: RescaleParams, channels: number | undefined, what: string): OutputBounds {
  const { multiplier, shift } = params;
  if (multiplier.length === 0 || multiplier.length !== shift.length) {
    throw new QuantkitError(
      'QK_RESCALE',
      `${what}: ${multiplier.length} multipliers and ${shift.length} shifts; they must pair up (1 or one per channel)`,
      { subject: what },
    );
  }
  if (multiplier.length > 1 && channels !== undefined && multiplier.length !== channels) {
    throw new QuantkitError(
      'QK_RESCALE',
      `${what}: ${multiplier.length} multipliers for ${channels} channels`,
      { subject: what, hint: 'Give one multiplier / shift per channel, or one for the whole tensor.' },
    );
  }
  for (let c = 0; c < multiplier.length; c++) checkEncoding(multiplier[c]!, shift[c]!, what);
  return outputBounds(params.outDtype, params.relu ?? false, params.clip ?? {}, what);
}

/**
 * Rescales a tensor of accumulators (C order, `dims`), per tensor or per channel along `axis`; every accumulator
 * must be an integer within ±2^31.
 */
export function rescaleTensor(
  acc: ArrayLike<number>,
  dims: readonly number[],
  axis: number,
  params: RescaleParams,
  what = 'a rescale',
): Int8Array | Int16Array {
  const perChannel = params.multiplier.length > 1;
  const channelAxis = axis < 0 ? axis + dims.length : axis;
  if (perChannel && (channelAxis < 0 || channelAxis >= dims.length)) {
    throw new QuantkitError('QK_RESCALE', `${what}: axis ${axis} is outside a rank-${dims.length} tensor`, {
      subject: what,
    });
  }
  const channels = perChannel ? dims[channelAxis]! : undefined;
  const { lo, hi } = checkRescaleParams(params, channels, what);
  const inner = perChannel ? dims.slice(channelAxis + 1).reduce((a, b) => a * b, 1) : 1;
  const out = params.outDtype === 'int8' ? new Int8Array(acc.length) : new Int16Array(acc.length);
  const count = params.multiplier.length;
  for (let i = 0; i < acc.length; i++) {
    const c = perChannel ? Math.floor(i / inner) % count : 0;
    const a = acc[i]!;
    if (!(Math.abs(a) <= INT32_LIMIT)) {
      throw new QuantkitError('QK_RESCALE', `${what}: accumulator ${a} is beyond ±2^31`, { subject: what });
    }
    const y = roundedProduct(a, params.multiplier[c]!, params.shift[c]!);
    out[i] = y < lo ? lo : y > hi ? hi : y;
  }
  return out;
}

/**
 * The largest shift of a quantkit::ScaleShift. With it, |q · multiplier| < 2^37 and |offset| < 2^52 (see
 * {@link encodeScaleShift}), so q · multiplier + offset is an exact float64 integer.
 */
export const SCALE_SHIFT_MAX_SHIFT = 35;

/** y = floor((q · multiplier + offset) / 2^shift): the integer form of q · m + b (quantkit::ScaleShift). */
export interface EncodedScaleShift {
  /** Signed: 0 or ±[2^21, 2^22), or below 2^21 in magnitude when the shift is capped. */
  multiplier: number;
  /** An integer in [1, SCALE_SHIFT_MAX_SHIFT]. */
  shift: number;
  /** round(b · 2^shift) + 2^(shift − 1): the shift term with the rounding half folded in. */
  offset: number;
}

/**
 * Encodes y = round(q · m + b) for int8 / int16 codes q as integer arithmetic: |m| as encodeMultiplier does, the
 * shift capped at SCALE_SHIFT_MAX_SHIFT (a smaller |m| keeps fewer multiplier bits: its absolute error on q · m stays
 * below 2^15 · 2^−36 = 2^−21), the sign on the multiplier. b is first clamped to ±(|m'| · 2^15 + 2^16), m' the encoded
 * multiplier: beyond that every q saturates either way, and the clamp keeps the offset below 2^52. The result rounds
 * q · m' + b' half toward +∞. `what` names the tensor or node in errors.
 */
export function encodeScaleShift(m: number, b: number, what = 'a scale-shift'): EncodedScaleShift {
  if (!Number.isFinite(m) || !Number.isFinite(b)) {
    throw new QuantkitError('QK_RESCALE', `Cannot encode the scale-shift (${m}, ${b}) of ${what}`, {
      subject: what,
      hint: 'The scale and shift must be finite; check the BatchNormalization parameters and the scales around it.',
    });
  }
  const encoded = encodeMultiplier(Math.abs(m), what);
  let { multiplier: magnitude, shift } = encoded;
  if (shift > SCALE_SHIFT_MAX_SHIFT) {
    shift = SCALE_SHIFT_MAX_SHIFT;
    magnitude = roundHalfEven(Math.abs(m) * 2 ** shift);
  }
  const limit = magnitude * 2 ** -shift * 32768 + 65536;
  const clamped = b < -limit ? -limit : b > limit ? limit : b;
  return {
    multiplier: m < 0 ? -magnitude : magnitude,
    shift,
    offset: roundHalfEven(clamped * 2 ** shift) + 2 ** (shift - 1),
  };
}

/** floor((q · multiplier + offset) / 2^shift), exact for an encoding of encodeScaleShift and |q| ≤ 2^15; unsaturated. */
export function scaleShiftValue(q: number, multiplier: number, shift: number, offset: number): number {
  return Math.floor((q * multiplier + offset) / 2 ** shift) + 0;
}
