import { AttributeType, DataType, type Node, type Tensor } from '@quantkit/core';
import { elementCount, fromTensor, isBigDtype, toNumbers, type ConstantValue, type Scalar } from './constant-value.js';

/** Thrown when a node cannot be evaluated exactly (an unsupported dtype or attribute, a division by zero…). */
export class NotFoldable extends Error {}

/** What an evaluator sees: the node, its inputs' values (undefined when absent or not constant) and input 0's shape. */
export interface EvalInput {
  node: Node;
  inputs: (ConstantValue | undefined)[];
  /** The static shape of input 0 (for Shape and Size, whose input need not be constant). */
  shape?: readonly number[];
}

type Evaluator = (input: EvalInput) => ConstantValue[];

const fail = (why: string): never => {
  throw new NotFoldable(why);
};

function need(input: EvalInput, index: number): ConstantValue {
  return input.inputs[index] ?? fail(`input ${index} is not constant`);
}

function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attribute(name);
  return a === undefined ? fallback : a.asNumber();
}

function attrInts(node: Node, name: string): number[] | undefined {
  const a = node.attribute(name);
  return a === undefined ? undefined : a.asNumbers();
}

/** Axes from input `index` (opset ≥ 13 style) or the `axes` attribute (older opsets). */
function axesOf(input: EvalInput, index: number): number[] | undefined {
  const value = input.inputs[index];
  if (value) return toNumbers(value);
  if (input.node.inputs[index]) fail(`input ${index} (axes) is not constant`);
  return attrInts(input.node, 'axes');
}

const normalize = (axis: number, rank: number) => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
};

function strides(dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) out[i] = out[i + 1]! * dims[i + 1]!;
  return out;
}

function broadcastDims(all: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...all.map((d) => d.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let size = 1;
    for (const dims of all) {
      const d = dims[dims.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (size !== 1 && size !== d) fail(`shapes [${all.map((x) => x.join('x')).join('], [')}] do not broadcast`);
      size = d;
    }
    out.push(size);
  }
  return out;
}

/** Maps every output element to its operands' elements under numpy broadcasting. */
function broadcastMap(operands: readonly ConstantValue[], fn: (xs: Scalar[]) => Scalar): { dims: number[]; data: Scalar[] } {
  const dims = broadcastDims(operands.map((o) => o.dims));
  const rank = dims.length;
  const inStrides = operands.map((o) => {
    const s = strides(o.dims);
    return dims.map((_, i) => {
      const k = i - (rank - o.dims.length);
      return k < 0 || o.dims[k] === 1 ? 0 : s[k]!;
    });
  });
  const total = elementCount(dims);
  const data = new Array<Scalar>(total);
  const index = new Array<number>(rank).fill(0);
  const offsets = operands.map(() => 0);
  for (let n = 0; n < total; n++) {
    data[n] = fn(operands.map((o, j) => o.data[offsets[j]!]!));
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      for (let j = 0; j < operands.length; j++) offsets[j]! += inStrides[j]![axis]!;
      if (index[axis]! < dims[axis]!) break;
      for (let j = 0; j < operands.length; j++) offsets[j]! -= inStrides[j]![axis]! * dims[axis]!;
      index[axis] = 0;
    }
  }
  return { dims, data };
}

const INT_RANGES: Record<number, [number, number]> = {
  [DataType.INT8]: [-128, 127],
  [DataType.UINT8]: [0, 255],
  [DataType.INT16]: [-32768, 32767],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT32]: [-2147483648, 2147483647],
  [DataType.UINT32]: [0, 4294967295],
};

/** Rounds an exact result into the dtype: float32 rounding, integer wrap-around, int64 exact. */
function intoDtype(dtype: number, x: number | bigint): Scalar {
  if (dtype === DataType.INT64) return BigInt.asIntN(64, typeof x === 'bigint' ? x : BigInt(x));
  if (dtype === DataType.UINT64) return BigInt.asUintN(64, typeof x === 'bigint' ? x : BigInt(x));
  const n = Number(x);
  if (dtype === DataType.FLOAT) return Math.fround(n);
  if (dtype === DataType.DOUBLE) return n;
  if (dtype === DataType.BOOL) return n !== 0 ? 1 : 0;
  const range = INT_RANGES[dtype] ?? fail(`dtype ${dtype} is not evaluated`);
  if (!Number.isSafeInteger(n)) fail(`integer result ${n} is not exact`);
  const span = range[1] - range[0] + 1;
  return ((((n - range[0]) % span) + span) % span) + range[0];
}

const isFloat = (dtype: number) => dtype === DataType.FLOAT || dtype === DataType.DOUBLE;

function arithmetic(op: string, dtype: number, a: Scalar, b: Scalar): Scalar {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = BigInt(a);
    const y = BigInt(b);
    switch (op) {
      case 'Add': return intoDtype(dtype, x + y);
      case 'Sub': return intoDtype(dtype, x - y);
      case 'Mul': return intoDtype(dtype, x * y);
      case 'Div': return y === 0n ? fail('integer division by zero') : intoDtype(dtype, x / y);
      case 'Min': return x < y ? x : y;
      case 'Max': return x > y ? x : y;
      default: return fail(`${op} on int64`);
    }
  }
  if (!isFloat(dtype) && op === 'Mul' && (dtype === DataType.INT32 || dtype === DataType.UINT32)) {
    return intoDtype(dtype, dtype === DataType.INT32 ? Math.imul(a, b) : Math.imul(a, b) >>> 0);
  }
  switch (op) {
    case 'Add': return intoDtype(dtype, a + b);
    case 'Sub': return intoDtype(dtype, a - b);
    case 'Mul': return intoDtype(dtype, a * b);
    case 'Div':
      if (isFloat(dtype)) return intoDtype(dtype, a / b);
      return b === 0 ? fail('integer division by zero') : intoDtype(dtype, Math.trunc(a / b));
    case 'Pow': return isFloat(dtype) ? intoDtype(dtype, Math.pow(a, b)) : fail('Pow on integers');
    case 'Min': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case 'Max': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    default: return fail(op);
  }
}

function binary(op: string): Evaluator {
  return (input) => {
    const operands = input.node.inputs.map((_, i) => need(input, i));
    if (operands.length === 0) fail('no inputs');
    const dtype = operands[0]!.dtype;
    if (operands.some((o) => o.dtype !== dtype)) fail('operands of different dtypes');
    if (operands.length === 1) return [{ ...operands[0]!, dims: [...operands[0]!.dims] }];
    let acc = operands[0]!;
    for (const next of operands.slice(1)) {
      const { dims, data } = broadcastMap([acc, next], ([a, b]) => arithmetic(op, dtype, a!, b!));
      acc = { dtype, dims, data };
    }
    return [acc];
  };
}

const COMPARE: Record<string, (a: Scalar, b: Scalar) => boolean> = {
  Equal: (a, b) => a == b, // eslint-disable-line eqeqeq -- compares a bigint with a bigint or a number with a number
  Less: (a, b) => a < b,
  LessOrEqual: (a, b) => a <= b,
  Greater: (a, b) => a > b,
  GreaterOrEqual: (a, b) => a >= b,
  And: (a, b) => Number(a) !== 0 && Number(b) !== 0,
  Or: (a, b) => Number(a) !== 0 || Number(b) !== 0,
};

function compare(op: string): Evaluator {
  return (input) => {
    const a = need(input, 0);
    const b = need(input, 1);
    const { dims, data } = broadcastMap([a, b], ([x, y]) => (COMPARE[op]!(x!, y!) ? 1 : 0));
    return [{ dtype: DataType.BOOL, dims, data }];
  };
}

const UNARY: Record<string, (x: number) => number> = {
  Floor: Math.floor,
  Ceil: Math.ceil,
  Sqrt: Math.sqrt,
  Neg: (x) => -x,
  Abs: Math.abs,
  Reciprocal: (x) => 1 / x,
  Not: (x) => (x !== 0 ? 0 : 1),
};

function unary(op: string): Evaluator {
  return (input) => {
    const x = need(input, 0);
    if (typeof x.data[0] === 'bigint') {
      if (op === 'Neg') return [{ ...x, data: x.data.map((v) => intoDtype(x.dtype, -(v as bigint))) }];
      if (op === 'Abs') return [{ ...x, data: x.data.map((v) => ((v as bigint) < 0n ? intoDtype(x.dtype, -(v as bigint)) : v)) }];
      if (op === 'Floor' || op === 'Ceil') return [x];
      fail(`${op} on int64`);
    }
    if (!isFloat(x.dtype) && (op === 'Sqrt' || op === 'Reciprocal')) fail(`${op} on integers`);
    return [{ ...x, data: x.data.map((v) => intoDtype(x.dtype, UNARY[op]!(v as number))) }];
  };
}

function cast(input: EvalInput): ConstantValue[] {
  const x = need(input, 0);
  const to = attrInt(input.node, 'to', 0);
  const data = x.data.map((v) => {
    if (to === DataType.BOOL) return Number(v) !== 0 ? 1 : 0;
    if (typeof v === 'number' && !isFloat(to) && !Number.isInteger(v)) {
      if (!Number.isFinite(v)) fail('a non-finite float cast to an integer');
      return intoDtype(to, Math.trunc(v));
    }
    if (typeof v === 'bigint' && !isBigDtype(to)) return intoDtype(to, Number(v));
    return intoDtype(to, v);
  });
  return [{ dtype: to, dims: [...x.dims], data }];
}

function shape(input: EvalInput): ConstantValue[] {
  const dims = input.shape ?? fail('the input shape is not known');
  const rank = dims.length;
  const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + rank : i, 0), rank);
  const start = clamp(attrInt(input.node, 'start', 0));
  const end = clamp(attrInt(input.node, 'end', rank));
  const out = dims.slice(start, Math.max(start, end)).map((d) => BigInt(d));
  return [{ dtype: DataType.INT64, dims: [out.length], data: out }];
}

function size(input: EvalInput): ConstantValue[] {
  const dims = input.shape ?? fail('the input shape is not known');
  return [{ dtype: DataType.INT64, dims: [], data: [BigInt(elementCount(dims))] }];
}

function gather(input: EvalInput): ConstantValue[] {
  const data = need(input, 0);
  const indices = toNumbers(need(input, 1));
  const indexDims = need(input, 1).dims;
  const axis = normalize(attrInt(input.node, 'axis', 0), data.dims.length);
  const outer = elementCount(data.dims.slice(0, axis));
  const n = data.dims[axis]!;
  const inner = elementCount(data.dims.slice(axis + 1));
  const out: Scalar[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices) {
      const i = raw < 0 ? raw + n : raw;
      if (i < 0 || i >= n) fail(`index ${raw} out of range [${-n}, ${n - 1}]`);
      for (let k = 0; k < inner; k++) out.push(data.data[(o * n + i) * inner + k]!);
    }
  }
  return [{ dtype: data.dtype, dims: [...data.dims.slice(0, axis), ...indexDims, ...data.dims.slice(axis + 1)], data: out }];
}

function concat(input: EvalInput): ConstantValue[] {
  const parts = input.node.inputs.map((_, i) => need(input, i));
  const first = parts[0] ?? fail('no inputs');
  const axis = normalize(attrInt(input.node, 'axis', 0), first.dims.length);
  const outer = elementCount(first.dims.slice(0, axis));
  const out: Scalar[] = [];
  for (let o = 0; o < outer; o++) {
    for (const part of parts) {
      const chunk = elementCount(part.dims.slice(axis));
      for (let k = 0; k < chunk; k++) out.push(part.data[o * chunk + k]!);
    }
  }
  const dims = [...first.dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
  return [{ dtype: first.dtype, dims, data: out }];
}

function unsqueeze(input: EvalInput): ConstantValue[] {
  const x = need(input, 0);
  const axes = axesOf(input, 1) ?? fail('no axes');
  const rank = x.dims.length + axes.length;
  const at = new Set(axes.map((a) => normalize(a, rank)));
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(at.has(i) ? 1 : x.dims[k++]!);
  return [{ ...x, dims }];
}

function squeeze(input: EvalInput): ConstantValue[] {
  const x = need(input, 0);
  const axes = axesOf(input, 1);
  const at = new Set(axes ? axes.map((a) => normalize(a, x.dims.length)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : [])));
  for (const a of at) if (x.dims[a] !== 1) fail(`axis ${a} has size ${x.dims[a]}, not 1`);
  return [{ ...x, dims: x.dims.filter((_, i) => !at.has(i)) }];
}

function reshape(input: EvalInput): ConstantValue[] {
  const x = need(input, 0);
  const wanted = toNumbers(need(input, 1));
  const allowZero = attrInt(input.node, 'allowzero', 0) === 1;
  const dims = wanted.map((d, i) => (d === 0 && !allowZero ? (x.dims[i] ?? fail('0 past the input rank')) : d));
  const free = dims.indexOf(-1);
  if (free >= 0) {
    const known = dims.reduce((p, d, i) => (i === free ? p : p * d), 1);
    if (known === 0 || elementCount(x.dims) % known !== 0) fail('-1 cannot be inferred');
    dims[free] = elementCount(x.dims) / known;
  }
  if (elementCount(dims) !== x.data.length) fail(`${x.data.length} elements do not fill [${dims.join(', ')}]`);
  return [{ ...x, dims }];
}

function slice(input: EvalInput): ConstantValue[] {
  const x = need(input, 0);
  const fromInputs = input.node.inputs.length > 1;
  const starts = fromInputs ? toNumbers(need(input, 1)) : (attrInts(input.node, 'starts') ?? fail('no starts'));
  const ends = fromInputs ? toNumbers(need(input, 2)) : (attrInts(input.node, 'ends') ?? fail('no ends'));
  const axes = fromInputs ? (input.node.inputs[3] ? toNumbers(need(input, 3)) : undefined) : attrInts(input.node, 'axes');
  const steps = fromInputs && input.node.inputs[4] ? toNumbers(need(input, 4)) : undefined;
  const rank = x.dims.length;
  const begin = x.dims.map(() => 0);
  const step = x.dims.map(() => 1);
  const count = [...x.dims];
  starts.forEach((s, i) => {
    const axis = normalize(axes?.[i] ?? i, rank);
    const n = x.dims[axis]!;
    const st = steps?.[i] ?? 1;
    if (st === 0) fail('a step of 0');
    const e = ends[i]!;
    const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let b = s < 0 ? s + n : s;
    let en = e < 0 ? e + n : e;
    if (st > 0) {
      b = clampTo(b, 0, n);
      en = clampTo(en, 0, n);
      count[axis] = Math.max(0, Math.ceil((en - b) / st));
    } else {
      b = clampTo(b, 0, n - 1);
      en = clampTo(en, -1, n - 1);
      count[axis] = Math.max(0, Math.ceil((en - b) / st));
    }
    begin[axis] = b;
    step[axis] = st;
  });
  const inStrides = strides(x.dims);
  const out: Scalar[] = [];
  const total = elementCount(count);
  const index = new Array<number>(rank).fill(0);
  for (let n = 0; n < total; n++) {
    let offset = 0;
    for (let a = 0; a < rank; a++) offset += (begin[a]! + index[a]! * step[a]!) * inStrides[a]!;
    out.push(x.data[offset]!);
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a]! < count[a]!) break;
      index[a] = 0;
    }
  }
  return [{ dtype: x.dtype, dims: count, data: out }];
}

function transpose(input: EvalInput): ConstantValue[] {
  const x = need(input, 0);
  const rank = x.dims.length;
  const perm = attrInts(input.node, 'perm') ?? x.dims.map((_, i) => rank - 1 - i);
  const dims = perm.map((p) => x.dims[p]!);
  const inStrides = strides(x.dims);
  const out: Scalar[] = [];
  const index = new Array<number>(rank).fill(0);
  for (let n = 0; n < x.data.length; n++) {
    let offset = 0;
    for (let a = 0; a < rank; a++) offset += index[a]! * inStrides[perm[a]!]!;
    out.push(x.data[offset]!);
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a]! < dims[a]!) break;
      index[a] = 0;
    }
  }
  return [{ dtype: x.dtype, dims, data: out }];
}

function range(input: EvalInput): ConstantValue[] {
  const [start, limit, delta] = [0, 1, 2].map((i) => need(input, i));
  const dtype = start!.dtype;
  const [s, l, d] = [start!.data[0]!, limit!.data[0]!, delta!.data[0]!];
  const n = Math.max(0, Math.ceil((Number(l) - Number(s)) / Number(d)));
  if (!Number.isFinite(n)) fail('an endless Range');
  const out: Scalar[] = [];
  // As the ONNX reference and onnxruntime: each element is the previous one plus delta, in the dtype.
  let value = s;
  for (let i = 0; i < n; i++) {
    out.push(value);
    value = arithmetic('Add', dtype, value, d);
  }
  return [{ dtype, dims: [n], data: out }];
}

function constantOfShape(input: EvalInput): ConstantValue[] {
  const dims = toNumbers(need(input, 0));
  const attribute = input.node.attribute('value');
  const fill =
    attribute?.type === AttributeType.TENSOR ? (fromTensor(attribute.value as Tensor) ?? fail('an unsupported fill dtype')) : undefined;
  const dtype = fill?.dtype ?? DataType.FLOAT;
  const value = fill?.data[0] ?? 0;
  return [{ dtype, dims, data: new Array<Scalar>(elementCount(dims)).fill(value) }];
}

function expand(input: EvalInput): ConstantValue[] {
  const x = need(input, 0);
  const dims = toNumbers(need(input, 1));
  const target: ConstantValue = { dtype: x.dtype, dims, data: new Array<Scalar>(elementCount(dims)).fill(0) };
  const { dims: out, data } = broadcastMap([x, target], ([a]) => a!);
  return [{ dtype: x.dtype, dims: out, data }];
}

function where(input: EvalInput): ConstantValue[] {
  const [c, a, b] = [0, 1, 2].map((i) => need(input, i));
  const { dims, data } = broadcastMap([c!, a!, b!], ([cond, x, y]) => (Number(cond) !== 0 ? x! : y!));
  return [{ dtype: a!.dtype, dims, data }];
}

/** The ops the evaluator computes (ai.onnx), each exactly as onnxruntime does. */
export const EVALUATORS: Readonly<Record<string, Evaluator>> = {
  Shape: shape,
  Size: size,
  Gather: gather,
  Cast: cast,
  Concat: concat,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Slice: slice,
  Reshape: reshape,
  Transpose: transpose,
  Range: range,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Where: where,
  ...Object.fromEntries(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Min', 'Max'].map((op) => [op, binary(op)])),
  ...Object.fromEntries(Object.keys(COMPARE).map((op) => [op, compare(op)])),
  ...Object.fromEntries(Object.keys(UNARY).map((op) => [op, unary(op)])),
};
