import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Node } from '../ir/node.js';
import { quantizeValue } from '../quant/numerics.js';
import { INTEGER_RANGE } from './integer-ops.js';
import { broadcastIndices, broadcastShapes, normalizeAxis, sizeOf, zeros } from './ndarray.js';
import {
  accShiftAttr,
  convAttrs,
  convTransposeAttrs,
  dequantizeAttrs,
  gemmOutputAttrs,
  intAttr,
  quantizeAttrs,
  rescaleAttrs,
  scaleShiftAttrs,
  spatialOutput,
  transposedOutput,
} from './node-attrs.js';
import { applyStep, epilogueAttrs } from './epilogue.js';
import { rescaleTensor, scaleShiftValue } from './requant.js';

/**
 * The reference semantics of the integer IR's own ops (integer-ops.ts), on plain arrays. Sums are exact: every
 * product of int16 · int16 is at most 2^30 and a sum of fewer than 2^22 of them stays below 2^53.
 */

const INT32 = INTEGER_RANGE.int32;

function dtypeError(node: Node, what: string, array: NpyArray, allowed: string): QuantkitError {
  return new QuantkitError(
    'QK_GRAPH_INVALID',
    `Node ${node.describe()}: ${what} is ${array.dtype}, but it must be ${allowed}`,
    { subject: node.name, hint: 'The integer IR takes the dtypes listed in integer-ops.ts.' },
  );
}

function shapeError(node: Node, message: string): QuantkitError {
  return new QuantkitError('QK_TENSOR_DATA', `Node ${node.describe()}: ${message}`, { subject: node.name });
}

function requireInteger(node: Node, what: string, array: NpyArray | undefined, allowed: readonly string[]): NpyArray {
  if (!array) throw shapeError(node, `${what} is missing`);
  if (!allowed.includes(array.dtype)) throw dtypeError(node, what, array, allowed.join(' or '));
  return array;
}

/** The channel of flat index i, for `inner` elements per channel step and `count` values (1 = per tensor). */
function channelOf(i: number, inner: number, count: number): number {
  return count === 1 ? 0 : Math.floor(i / inner) % count;
}

export function quantizeKernel(node: Node, x: NpyArray | undefined): NpyArray {
  if (!x) throw shapeError(node, 'the input is missing');
  if (x.dtype !== 'float32') throw dtypeError(node, 'the input', x, 'float32');
  const { scale, dtype, rounding } = quantizeAttrs(node);
  const out = zeros(dtype, x.shape);
  const qtype = dtype === 'int8' ? 'qint8' : 'qint16';
  const mode = rounding === 'bpu' ? 'bpu' : 'half-even';
  for (let i = 0; i < x.data.length; i++) out.data[i] = quantizeValue(x.data[i]!, scale, qtype, mode);
  return out;
}

export function dequantizeKernel(node: Node, q: NpyArray | undefined): NpyArray {
  const input = requireInteger(node, 'the input', q, ['int8', 'int16', 'int32']);
  const { scale, axis } = dequantizeAttrs(node);
  const out = zeros('float32', input.shape);
  let inner = 1;
  if (scale.length > 1) {
    const a = normalizeAxis(axis, input.shape.length, node);
    if (input.shape[a] !== scale.length) {
      throw shapeError(node, `${scale.length} scales for ${input.shape[a]} channels on axis ${axis}`);
    }
    inner = sizeOf(input.shape.slice(a + 1));
  }
  const data = input.data as ArrayLike<number>;
  for (let i = 0; i < data.length; i++) {
    out.data[i] = Math.fround(data[i]!) * scale[channelOf(i, inner, scale.length)]!;
  }
  return out;
}

export function rescaleKernel(node: Node, acc: NpyArray | undefined): NpyArray {
  const input = requireInteger(node, 'the input', acc, ['int8', 'int16', 'int32']);
  const attrs = rescaleAttrs(node);
  const axis = attrs.multiplier.length > 1 ? normalizeAxis(attrs.axis, input.shape.length, node) : 0;
  const data = rescaleTensor(input.data as ArrayLike<number>, input.shape, axis, attrs, `Node ${node.describe()}`);
  return { dtype: attrs.outDtype, shape: [...input.shape], data } as NpyArray;
}

/**
 * The output stage shared by Conv / Gemm / MatMul: `acc` holds the exact sums (bias included) in C order with
 * `channels` channels on `axis`; it is saturated to int32, then rescaled, clamped or scaled to float32.
 */
function outputStage(node: Node, acc: Float64Array, shape: number[], axis: number, channels: number): NpyArray {
  const attrs = gemmOutputAttrs(node, channels);
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    acc[i] = a < INT32.min ? INT32.min : a > INT32.max ? INT32.max : a;
  }
  if (attrs.rescale) {
    const data = rescaleTensor(acc, shape, axis, attrs.rescale, `Node ${node.describe()}`);
    return { dtype: attrs.rescale.outDtype, shape, data } as NpyArray;
  }
  const { lo, hi } = attrs.accBounds!;
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    acc[i] = a < lo ? lo : a > hi ? hi : a;
  }
  if (attrs.outDtype === 'int32') return { dtype: 'int32', shape, data: Int32Array.from(acc) };
  const scale = attrs.floatScale!;
  const inner = sizeOf(shape.slice(axis + 1));
  const out = new Float32Array(acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = Math.fround(acc[i]!) * scale[channelOf(i, inner, scale.length)]!;
  return { dtype: 'float32', shape, data: out };
}

/**
 * The accumulator shift (acc_shift, integer-ops.ts) as a function on an exact float64 sum: floor((v + 2^(s−1)) / 2^s),
 * exact since v is an integer below 2^53 and the divisor a power of two; the identity for s = 0.
 */
function accShifter(node: Node): (v: number) => number {
  const shift = accShiftAttr(node);
  if (shift === 0) return (v) => v;
  const half = 2 ** (shift - 1);
  const divisor = 2 ** shift;
  return (v) => Math.floor((v + half) / divisor);
}

function biasValues(node: Node, bias: NpyArray | undefined, channels: number): Int32Array | undefined {
  if (!bias) return undefined;
  const b = requireInteger(node, 'the bias', bias, ['int32']) as { data: Int32Array };
  if (b.data.length !== channels) throw shapeError(node, `bias has ${b.data.length} values for ${channels} channels`);
  return b.data;
}

export function convKernel(node: Node, x: NpyArray | undefined, w: NpyArray | undefined, bias: NpyArray | undefined): NpyArray {
  const input = requireInteger(node, 'x', x, ['int8', 'int16']);
  const weight = requireInteger(node, 'w', w, ['int8', 'int16']);
  const rank = input.shape.length;
  if ((rank !== 3 && rank !== 4) || weight.shape.length !== rank) {
    throw shapeError(node, `the interpreter runs 1-D and 2-D convs; x is [${input.shape}] and w is [${weight.shape}]`);
  }
  // A 1-D conv is a 2-D conv of height 1.
  const spatial = rank - 2;
  const attrs = convAttrs(node, spatial);
  const [n, c, h, wd] = spatial === 1 ? [input.shape[0]!, input.shape[1]!, 1, input.shape[2]!] : (input.shape as [number, number, number, number]);
  const [m, cg, kh, kw] = spatial === 1 ? [weight.shape[0]!, weight.shape[1]!, 1, weight.shape[2]!] : (weight.shape as [number, number, number, number]);
  const { group } = attrs;
  if (cg * group !== c || m % group !== 0) {
    throw shapeError(node, `x has ${c} channels and w is [${weight.shape}] with group ${group}`);
  }
  if (attrs.kernelShape && attrs.kernelShape.join() !== weight.shape.slice(2).join()) {
    throw shapeError(node, `kernel_shape [${attrs.kernelShape}] differs from w's [${weight.shape.slice(2)}]`);
  }
  const pick = (values: number[], d2: number, d1: number) => (spatial === 1 ? values[d1]! : values[d2]!);
  const geometry = (size: number, k: number, d: 0 | 1) => {
    if (spatial === 1 && d === 0) return { out: 1, padBegin: 0, padEnd: 0 };
    const index = spatial === 1 ? 0 : d;
    return spatialOutput(
      size,
      k,
      attrs.strides[index]!,
      attrs.dilations[index]!,
      attrs.pads[index]!,
      attrs.pads[index + spatial]!,
      attrs.autoPad,
    );
  };
  const gh = geometry(h, kh, 0);
  const gw = geometry(wd, kw, 1);
  const [sh, sw] = [spatial === 1 ? 1 : attrs.strides[0]!, pick(attrs.strides, 1, 0)];
  const [dh, dw] = [spatial === 1 ? 1 : attrs.dilations[0]!, pick(attrs.dilations, 1, 0)];
  const [oh, ow] = [gh.out, gw.out];
  if (oh < 1 || ow < 1) throw shapeError(node, `the output would be empty (${oh} × ${ow})`);
  const b = biasValues(node, bias, m);
  const shifted = accShifter(node);
  const xs = input.data as ArrayLike<number>;
  const ws = weight.data as ArrayLike<number>;
  const acc = new Float64Array(n * m * oh * ow);
  const perGroup = m / group;
  let o = 0;
  for (let in_ = 0; in_ < n; in_++) {
    for (let om = 0; om < m; om++) {
      const g = Math.floor(om / perGroup);
      for (let y = 0; y < oh; y++) {
        for (let x0 = 0; x0 < ow; x0++) {
          let sum = 0;
          for (let ic = 0; ic < cg; ic++) {
            const xBase = (in_ * c + g * cg + ic) * h * wd;
            const wBase = (om * cg + ic) * kh * kw;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * sh - gh.padBegin + ky * dh;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = x0 * sw - gw.padBegin + kx * dw;
                if (ix < 0 || ix >= wd) continue;
                sum += xs[xBase + iy * wd + ix]! * ws[wBase + ky * kw + kx]!;
              }
            }
          }
          acc[o++] = shifted(sum) + (b ? b[om]! : 0);
        }
      }
    }
  }
  const shape = spatial === 1 ? [n, m, ow] : [n, m, oh, ow];
  return outputStage(node, acc, shape, 1, m);
}

/**
 * ConvTranspose: x [N, C, H, W] (or [N, C, W]), w [C, M / group, kh, kw]; every input pixel scatters x · w into the
 * output window it reaches, exactly (the sums in float64 hold integers far below 2^53).
 */
export function convTransposeKernel(node: Node, x: NpyArray | undefined, w: NpyArray | undefined, bias: NpyArray | undefined): NpyArray {
  const input = requireInteger(node, 'x', x, ['int8', 'int16']);
  const weight = requireInteger(node, 'w', w, ['int8', 'int16']);
  const rank = input.shape.length;
  if ((rank !== 3 && rank !== 4) || weight.shape.length !== rank) {
    throw shapeError(node, `the interpreter runs 1-D and 2-D transposed convs; x is [${input.shape}] and w is [${weight.shape}]`);
  }
  const spatial = rank - 2;
  const attrs = convTransposeAttrs(node, spatial);
  const [n, c, h, wd] = spatial === 1 ? [input.shape[0]!, input.shape[1]!, 1, input.shape[2]!] : (input.shape as [number, number, number, number]);
  const [cw, mg, kh, kw] = spatial === 1 ? [weight.shape[0]!, weight.shape[1]!, 1, weight.shape[2]!] : (weight.shape as [number, number, number, number]);
  const { group } = attrs;
  if (cw !== c || c % group !== 0) throw shapeError(node, `x has ${c} channels and w is [${weight.shape}] with group ${group}`);
  const m = mg * group;
  const cg = c / group;
  const geometry = (size: number, k: number, d: 0 | 1) => {
    if (spatial === 1 && d === 0) return { out: 1, padBegin: 0, stride: 1, dilation: 1 };
    const i = spatial === 1 ? 0 : d;
    const g = transposedOutput(
      size,
      k,
      attrs.strides[i]!,
      attrs.dilations[i]!,
      attrs.pads[i]!,
      attrs.pads[i + spatial]!,
      attrs.outputPadding[i]!,
      attrs.autoPad,
      attrs.outputShape?.[i],
    );
    return { ...g, stride: attrs.strides[i]!, dilation: attrs.dilations[i]! };
  };
  const gh = geometry(h, kh, 0);
  const gw = geometry(wd, kw, 1);
  const [oh, ow] = [gh.out, gw.out];
  if (oh < 1 || ow < 1) throw shapeError(node, `the output would be empty (${oh} × ${ow})`);
  const b = biasValues(node, bias, m);
  const xs = input.data as ArrayLike<number>;
  const ws = weight.data as ArrayLike<number>;
  const acc = new Float64Array(n * m * oh * ow);
  for (let in_ = 0; in_ < n; in_++) {
    for (let ic = 0; ic < c; ic++) {
      const g = Math.floor(ic / cg);
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          const v = xs[((in_ * c + ic) * h + iy) * wd + ix]!;
          if (v === 0) continue;
          for (let j = 0; j < mg; j++) {
            const om = g * mg + j;
            const outBase = (in_ * m + om) * oh * ow;
            const wBase = (ic * mg + j) * kh * kw;
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * gh.stride - gh.padBegin + ky * gh.dilation;
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * gw.stride - gw.padBegin + kx * gw.dilation;
                if (ox < 0 || ox >= ow) continue;
                acc[outBase + oy * ow + ox]! += v * ws[wBase + ky * kw + kx]!;
              }
            }
          }
        }
      }
    }
  }
  const shifted = accShifter(node);
  for (let i = 0; i < acc.length; i++) acc[i] = shifted(acc[i]!) + (b ? b[Math.floor(i / (oh * ow)) % m]! : 0);
  const shape = spatial === 1 ? [n, m, ow] : [n, m, oh, ow];
  return outputStage(node, acc, shape, 1, m);
}

export function gemmKernel(node: Node, a: NpyArray | undefined, b: NpyArray | undefined, c: NpyArray | undefined): NpyArray {
  const left = requireInteger(node, 'A', a, ['int8', 'int16']);
  const right = requireInteger(node, 'B', b, ['int8', 'int16']);
  if (left.shape.length !== 2 || right.shape.length !== 2) {
    throw shapeError(node, `Gemm takes 2-D inputs, got [${left.shape}] and [${right.shape}]`);
  }
  const transA = intAttr(node, 'transA', 0) === 1;
  const transB = intAttr(node, 'transB', 0) === 1;
  const [m, k] = transA ? [left.shape[1]!, left.shape[0]!] : [left.shape[0]!, left.shape[1]!];
  const [kb, n] = transB ? [right.shape[1]!, right.shape[0]!] : [right.shape[0]!, right.shape[1]!];
  if (k !== kb) throw shapeError(node, `A [${left.shape}] and B [${right.shape}] do not multiply (transA ${+transA}, transB ${+transB})`);
  const as = left.data as ArrayLike<number>;
  const bs = right.data as ArrayLike<number>;
  const acc = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        sum += as[transA ? p * m + i : i * k + p]! * bs[transB ? j * k + p : p * n + j]!;
      }
      acc[i * n + j] = sum;
    }
  }
  const shifted = accShifter(node);
  for (let i = 0; i < acc.length; i++) acc[i] = shifted(acc[i]!);
  if (c) {
    const bias = requireInteger(node, 'C', c, ['int32']);
    const shape = broadcastShapes(bias.shape, [m, n]);
    if (!shape || shape.join() !== `${m},${n}`) throw shapeError(node, `C [${bias.shape}] does not broadcast to [${m}, ${n}]`);
    const indices = broadcastIndices(bias.shape, [m, n]);
    const data = bias.data as Int32Array;
    for (let i = 0; i < acc.length; i++) acc[i]! += data[indices ? indices[i]! : i]!;
  }
  return outputStage(node, acc, [m, n], 1, n);
}

export function matmulKernel(node: Node, a: NpyArray | undefined, b: NpyArray | undefined, bias: NpyArray | undefined): NpyArray {
  const left = requireInteger(node, 'A', a, ['int8', 'int16']);
  const right = requireInteger(node, 'B', b, ['int8', 'int16']);
  // numpy matmul: a 1-D operand gains a dim of 1 that the result drops.
  const aShape = left.shape.length === 1 ? [1, left.shape[0]!] : left.shape;
  const bShape = right.shape.length === 1 ? [right.shape[0]!, 1] : right.shape;
  const m = aShape[aShape.length - 2]!;
  const k = aShape[aShape.length - 1]!;
  const n = bShape[bShape.length - 1]!;
  if (bShape[bShape.length - 2] !== k) throw shapeError(node, `A [${left.shape}] and B [${right.shape}] do not multiply`);
  const batch = broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2));
  if (!batch) throw shapeError(node, `the batch dims of A [${left.shape}] and B [${right.shape}] do not broadcast`);
  const batches = sizeOf(batch);
  const aBatch = broadcastIndices(aShape.slice(0, -2), batch);
  const bBatch = broadcastIndices(bShape.slice(0, -2), batch);
  const as = left.data as ArrayLike<number>;
  const bs = right.data as ArrayLike<number>;
  const acc = new Float64Array(batches * m * n);
  for (let t = 0; t < batches; t++) {
    const aBase = (aBatch ? aBatch[t]! : t) * m * k;
    const bBase = (bBatch ? bBatch[t]! : t) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += as[aBase + i * k + p]! * bs[bBase + p * n + j]!;
        acc[(t * m + i) * n + j] = sum;
      }
    }
  }
  const shifted = accShifter(node);
  for (let i = 0; i < acc.length; i++) acc[i] = shifted(acc[i]!);
  const biasData = biasValues(node, bias, n);
  if (biasData) for (let i = 0; i < acc.length; i++) acc[i]! += biasData[i % n]!;
  const shape = [...batch, ...(left.shape.length === 1 ? [] : [m]), ...(right.shape.length === 1 ? [] : [n])];
  return outputStage(node, acc, shape, Math.max(shape.length - 1, 0), right.shape.length === 1 ? 1 : n);
}

/** quantkit::Lut: y = table[q − min], the table indexed by the input code. */
export function lutKernel(node: Node, q: NpyArray | undefined, table: NpyArray | undefined): NpyArray {
  const input = requireInteger(node, 'q', q, ['int8', 'int16']);
  const entries = requireInteger(node, 'the table', table, ['int8', 'int16']);
  const { min, max } = INTEGER_RANGE[input.dtype as 'int8' | 'int16'];
  if (entries.data.length !== max - min + 1) {
    throw shapeError(node, `the table has ${entries.data.length} entries for ${input.dtype} codes (${max - min + 1})`);
  }
  const out = zeros(entries.dtype as 'int8' | 'int16', input.shape);
  const data = input.data as ArrayLike<number>;
  for (let i = 0; i < data.length; i++) out.data[i] = (entries.data as Int8Array | Int16Array)[data[i]! - min]!;
  return out;
}

/** The channel axis of a per-channel parameter list on a tensor of `shape`, and the elements per channel step. */
function channelLayout(node: Node, shape: readonly number[], count: number, axis: number, what: string): number {
  if (count === 1) return 1;
  const a = normalizeAxis(axis, shape.length, node);
  if (shape[a] !== count) throw shapeError(node, `${count} values of ${what} for ${shape[a]} channels on axis ${axis}`);
  return sizeOf(shape.slice(a + 1));
}

/**
 * quantkit::Epilogue: x = float32(acc) · acc_scale[c], the steps in order (epilogue.ts), then QuantizeLinear at
 * out_scale and the clamp to clip_min / clip_max.
 */
export function epilogueKernel(node: Node, inputs: readonly (NpyArray | undefined)[]): NpyArray {
  const acc = requireInteger(node, 'acc', inputs[0], ['int32']);
  const attrs = epilogueAttrs(node);
  const inner = channelLayout(node, acc.shape, attrs.accScale.length, attrs.axis, 'acc_scale');
  const tables = new Map<number, Float32Array>();
  let channels = attrs.accScale.length;
  for (const step of attrs.steps) {
    if (step.op !== 'ScaleShift') continue;
    for (const index of [step.input, step.input + 1]) {
      const table = inputs[index];
      if (!table || table.dtype !== 'float32') throw shapeError(node, `input ${index} (a ScaleShift parameter) must be float32`);
      tables.set(index, table.data);
      channels = Math.max(channels, table.data.length);
    }
  }
  const stepInner = channelLayout(node, acc.shape, channels, attrs.axis, 'the per-channel parameters');
  for (const table of tables.values()) {
    if (table.length !== 1 && table.length !== channels) throw shapeError(node, `a ScaleShift parameter has ${table.length} values for ${channels} channels`);
  }
  const { lo, hi } = attrs.bounds;
  const qtype = attrs.outDtype === 'int8' ? 'qint8' : 'qint16';
  const out = zeros(attrs.outDtype, acc.shape);
  const data = acc.data as Int32Array;
  for (let i = 0; i < data.length; i++) {
    let x = Math.fround(Math.fround(data[i]!) * attrs.accScale[channelOf(i, inner, attrs.accScale.length)]!);
    const c = channelOf(i, stepInner, channels);
    for (const step of attrs.steps) x = applyStep(step, x, c, tables);
    const q = quantizeValue(x, attrs.outScale, qtype);
    out.data[i] = q < lo ? lo : q > hi ? hi : q;
  }
  return out;
}

/** quantkit::ScaleShift: y = saturate(floor((q · multiplier[c] + offset[c]) / 2^shift[c])), exact. */
export function scaleShiftKernel(node: Node, q: NpyArray | undefined): NpyArray {
  const input = requireInteger(node, 'q', q, ['int8', 'int16']);
  const attrs = scaleShiftAttrs(node);
  const count = attrs.multiplier.length;
  const inner = channelLayout(node, input.shape, count, attrs.axis, 'multiplier');
  const { min, max } = INTEGER_RANGE[attrs.outDtype];
  const out = zeros(attrs.outDtype, input.shape);
  const data = input.data as ArrayLike<number>;
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i, inner, count);
    const y = scaleShiftValue(data[i]!, attrs.multiplier[c]!, attrs.shift[c]!, attrs.offset[c]!);
    out.data[i] = y < min ? min : y > max ? max : y;
  }
  return out;
}
