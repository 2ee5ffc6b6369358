import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { AttributeType } from '../ir/attribute.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { gather, normalizeAxis, numbers, reshaped, sizeOf, stridesOf, tensorToArray, zeros } from './ndarray.js';
import { intAttr, intsAttr, spatialOutput, stringAttr } from './node-attrs.js';
import { resizeKernel } from './resize-kernel.js';

/**
 * Pass-through ops (they move or select elements, so any dtype and the input's scale carry over) and the constants
 * they read, with opset 21 semantics.
 */

type LayoutKernel = (node: Node, inputs: readonly (NpyArray | undefined)[]) => NpyArray;

function fail(node: Node, message: string): QuantkitError {
  return new QuantkitError('QK_TENSOR_DATA', `Node ${node.describe()}: ${message}`, { subject: node.name });
}

function input(node: Node, inputs: readonly (NpyArray | undefined)[], index: number): NpyArray {
  const array = inputs[index];
  if (!array) throw fail(node, `input ${index} is missing`);
  return array;
}

/** Axes from input `index` (opset ≥ 13) or the `axes` attribute (older opsets). */
function axesOf(node: Node, inputs: readonly (NpyArray | undefined)[], index: number): number[] | undefined {
  const array = inputs[index];
  return array ? Array.from(numbers(array)) : intsAttr(node, 'axes');
}

const reshape: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const spec = Array.from(numbers(input(node, inputs, 1)));
  const allowZero = intAttr(node, 'allowzero', 0) === 1;
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? data.shape[i]! : d));
  const unknown = shape.indexOf(-1);
  if (unknown >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== unknown));
    shape[unknown] = known === 0 ? 0 : sizeOf(data.shape) / known;
  }
  if (sizeOf(shape) !== sizeOf(data.shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw fail(node, `cannot reshape [${data.shape}] to [${spec}]`);
  }
  return reshaped(data, shape);
};

const flatten: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const rank = data.shape.length;
  const raw = intAttr(node, 'axis', 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis < 0 || axis > rank) throw fail(node, `axis ${raw} is outside [-${rank}, ${rank}]`);
  return reshaped(data, [sizeOf(data.shape.slice(0, axis)), sizeOf(data.shape.slice(axis))]);
};

const transpose: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const rank = data.shape.length;
  const perm = intsAttr(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw fail(node, `perm [${perm}] is not a permutation of ${rank} axes`);
  }
  const strides = stridesOf(data.shape);
  const shape = perm.map((p) => data.shape[p]!);
  return gather(data, shape, (index) => {
    let source = 0;
    for (let d = 0; d < rank; d++) source += index[d]! * strides[perm[d]!]!;
    return source;
  });
};

const squeeze: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const rank = data.shape.length;
  const axes = axesOf(node, inputs, 1)?.map((a) => normalizeAxis(a, rank, node));
  if (axes?.some((a) => data.shape[a] !== 1)) throw fail(node, `cannot squeeze axes [${axes}] of [${data.shape}]`);
  return reshaped(data, data.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)));
};

const unsqueeze: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const axes = axesOf(node, inputs, 1);
  if (!axes) throw fail(node, 'axes are missing');
  const rank = data.shape.length + axes.length;
  const normalized = new Set(axes.map((a) => normalizeAxis(a, rank, node)));
  const shape: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) shape.push(normalized.has(i) ? 1 : data.shape[next++]!);
  return reshaped(data, shape);
};

const concat: LayoutKernel = (node, inputs) => {
  const parts = inputs.map((_, i) => input(node, inputs, i));
  const first = parts[0]!;
  const axis = normalizeAxis(intAttr(node, 'axis', 0), first.shape.length, node);
  for (const part of parts) {
    if (part.dtype !== first.dtype || part.shape.length !== first.shape.length) {
      throw fail(node, `inputs [${first.shape}] ${first.dtype} and [${part.shape}] ${part.dtype} cannot be concatenated`);
    }
  }
  const shape = [...first.shape];
  shape[axis] = parts.reduce((sum, part) => sum + part.shape[axis]!, 0);
  const out = zeros(first.dtype, shape);
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const target = out.data as unknown as { set(source: ArrayLike<number | bigint>, offset: number): void };
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const part of parts) {
      const run = part.shape[axis]! * inner;
      target.set((part.data as unknown as { subarray(a: number, b: number): ArrayLike<number> }).subarray(o * run, (o + 1) * run), offset);
      offset += run;
    }
  }
  return out;
};

const slice: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const rank = data.shape.length;
  const starts = Array.from(numbers(input(node, inputs, 1)));
  const ends = Array.from(numbers(input(node, inputs, 2)));
  const axes = inputs[3] ? Array.from(numbers(inputs[3])) : starts.map((_, i) => i);
  const steps = inputs[4] ? Array.from(numbers(inputs[4])) : starts.map(() => 1);
  const begin = data.shape.map(() => 0);
  const step = data.shape.map(() => 1);
  const shape = [...data.shape];
  axes.forEach((raw, i) => {
    const axis = normalizeAxis(raw, rank, node);
    const dim = data.shape[axis]!;
    const s = steps[i]!;
    if (s === 0) throw fail(node, 'a step is 0');
    const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let start = starts[i]! < 0 ? starts[i]! + dim : starts[i]!;
    let end = ends[i]! < 0 ? ends[i]! + dim : ends[i]!;
    [start, end] = s > 0 ? [clampTo(start, 0, dim), clampTo(end, 0, dim)] : [clampTo(start, 0, dim - 1), clampTo(end, -1, dim - 1)];
    begin[axis] = start;
    step[axis] = s;
    shape[axis] = Math.max(0, Math.ceil((end - start) / s));
  });
  const strides = stridesOf(data.shape);
  return gather(data, shape, (index) => {
    let source = 0;
    for (let d = 0; d < rank; d++) source += (begin[d]! + index[d]! * step[d]!) * strides[d]!;
    return source;
  });
};

const gatherOp: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const indices = input(node, inputs, 1);
  const rank = data.shape.length;
  const axis = normalizeAxis(intAttr(node, 'axis', 0), rank, node);
  const dim = data.shape[axis]!;
  const picks = Array.from(numbers(indices), (i) => {
    const index = i < 0 ? i + dim : i;
    if (index < 0 || index >= dim) throw fail(node, `index ${i} is outside axis ${axis} of size ${dim}`);
    return index;
  });
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const strides = stridesOf(data.shape);
  const indexStrides = stridesOf(indices.shape);
  const depth = indices.shape.length;
  return gather(data, shape, (index) => {
    let source = 0;
    for (let d = 0; d < axis; d++) source += index[d]! * strides[d]!;
    let pick = 0;
    for (let d = 0; d < depth; d++) pick += index[axis + d]! * indexStrides[d]!;
    source += picks[pick]! * strides[axis]!;
    for (let d = axis + 1; d < rank; d++) source += index[d + depth - 1]! * strides[d]!;
    return source;
  });
};

const pad: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const rank = data.shape.length;
  const mode = stringAttr(node, 'mode', 'constant');
  if (mode !== 'constant' && mode !== 'edge' && mode !== 'reflect') throw fail(node, `Pad mode '${mode}' is not supported`);
  const given = Array.from(numbers(input(node, inputs, 1)));
  const axes = inputs[3] ? Array.from(numbers(inputs[3]), (a) => normalizeAxis(a, rank, node)) : data.shape.map((_, i) => i);
  if (given.length !== 2 * axes.length) throw fail(node, `${given.length} pads for ${axes.length} axes`);
  const begin = data.shape.map(() => 0);
  const end = data.shape.map(() => 0);
  axes.forEach((axis, i) => {
    begin[axis] = given[i]!;
    end[axis] = given[i + axes.length]!;
  });
  if ([...begin, ...end].some((p) => p < 0)) throw fail(node, 'negative pads are not supported');
  const shape = data.shape.map((d, i) => d + begin[i]! + end[i]!);
  const constant = inputs[2] ? numbers(inputs[2])[0]! : 0;
  const out = zeros(data.dtype, shape);
  const target = out.data as unknown as { [i: number]: number | bigint };
  const from = data.data as unknown as { [i: number]: number | bigint };
  const strides = stridesOf(data.shape);
  const index = shape.map(() => 0);
  for (let o = 0; o < sizeOf(shape); o++) {
    let source = 0;
    for (let d = 0; d < rank && source >= 0; d++) {
      const size = data.shape[d]!;
      let i = index[d]! - begin[d]!;
      if (i < 0 || i >= size) {
        if (mode === 'constant') source = -1;
        else if (mode === 'edge') i = i < 0 ? 0 : size - 1;
        else i = i < 0 ? -i : 2 * (size - 1) - i;
      }
      if (source >= 0) source += i * strides[d]!;
    }
    target[o] = source >= 0 ? from[source]! : typeof from[0] === 'bigint' ? BigInt(constant) : constant;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
};

const maxPool: LayoutKernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  if (data.dtype === 'int64' || data.dtype === 'uint64') throw fail(node, `MaxPool of ${data.dtype} is not supported`);
  if (node.outputs.length > 1 && node.outputs[1]!.name !== '') throw fail(node, 'the Indices output is not supported');
  const rank = data.shape.length;
  if (rank !== 3 && rank !== 4) throw fail(node, `the interpreter runs 1-D and 2-D MaxPool, got [${data.shape}]`);
  const spatial = rank - 2;
  const kernel = intsAttr(node, 'kernel_shape');
  if (!kernel || kernel.length !== spatial) throw fail(node, 'kernel_shape is missing or of the wrong length');
  const strides = intsAttr(node, 'strides') ?? kernel.map(() => 1);
  const dilations = intsAttr(node, 'dilations') ?? kernel.map(() => 1);
  const pads = intsAttr(node, 'pads') ?? [...kernel, ...kernel].map(() => 0);
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  const ceil = intAttr(node, 'ceil_mode', 0) === 1;
  // A 1-D pool is a 2-D pool of height 1.
  const dims2 = spatial === 1 ? [1, data.shape[2]!] : [data.shape[2]!, data.shape[3]!];
  const window = (d: 0 | 1) => {
    if (spatial === 1 && d === 0) return { out: 1, padBegin: 0, k: 1, s: 1, dl: 1 };
    const i = spatial === 1 ? 0 : d;
    const g = spatialOutput(dims2[d]!, kernel[i]!, strides[i]!, dilations[i]!, pads[i]!, pads[i + spatial]!, autoPad, ceil);
    return { out: g.out, padBegin: g.padBegin, k: kernel[i]!, s: strides[i]!, dl: dilations[i]! };
  };
  const [n, c] = [data.shape[0]!, data.shape[1]!];
  const [h, w] = dims2 as [number, number];
  const [gh, gw] = [window(0), window(1)];
  const shape = spatial === 1 ? [n, c, gw.out] : [n, c, gh.out, gw.out];
  const out = zeros(data.dtype, shape);
  const xs = data.data as ArrayLike<number>;
  const ys = out.data as unknown as { [i: number]: number };
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < gh.out; y++) {
      for (let x = 0; x < gw.out; x++) {
        let max = -Infinity;
        for (let ky = 0; ky < gh.k; ky++) {
          const iy = y * gh.s - gh.padBegin + ky * gh.dl;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < gw.k; kx++) {
            const ix = x * gw.s - gw.padBegin + kx * gw.dl;
            if (ix < 0 || ix >= w) continue;
            max = Math.max(max, xs[(plane * h + iy) * w + ix]!);
          }
        }
        ys[o++] = max;
      }
    }
  }
  return out;
};

const constant: LayoutKernel = (node) => {
  const value = node.attribute('value');
  if (value?.type === AttributeType.TENSOR) return tensorToArray(value.value as Tensor, node.output.name);
  const floats = node.attribute('value_float') ?? node.attribute('value_floats');
  if (floats) {
    const data = Float32Array.from(floats.asNumbers());
    return { dtype: 'float32', shape: floats.type === AttributeType.FLOAT ? [] : [data.length], data };
  }
  const ints = node.attribute('value_int') ?? node.attribute('value_ints');
  if (ints) {
    const data = BigInt64Array.from(ints.asNumbers(), BigInt);
    return { dtype: 'int64', shape: ints.type === AttributeType.INT ? [] : [data.length], data };
  }
  throw new QuantkitError('QK_UNSUPPORTED', `Node ${node.describe()}: this kind of Constant is not supported`, {
    subject: node.name,
  });
};

/** Pass-through and constant kernels by ONNX op type. */
export const LAYOUT_KERNELS: Readonly<Record<string, LayoutKernel>> = {
  Identity: (node, inputs) => input(node, inputs, 0),
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Slice: slice,
  Gather: gatherOp,
  MaxPool: maxPool,
  Pad: pad,
  Resize: resizeKernel,
  Constant: constant,
};
