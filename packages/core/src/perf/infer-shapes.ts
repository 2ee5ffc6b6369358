import { AttributeType } from '../ir/attribute.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorShape } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { constantTensor } from '../prepare/constants.js';

export type Shape = readonly number[];

/**
 * Static shapes of the values of a graph, for the cost model: the shapes in `given` (by value name) first, then
 * constants, then fully static declared shapes, then per-op rules for the ops integer IR and its CPU fallbacks use
 * (GEMMs from their input and weight shapes, pooling, broadcasting elementwise ops, layout ops with constant
 * arguments; quantkit Quantize / Dequantize / Rescale and VPU islands as their ONNX op). A value whose shape no
 * rule gives is absent: the caller reports it (and `inferShapesByRunning` gets every shape from one run).
 */
export function inferShapes(graph: Graph, given: ReadonlyMap<string, Shape> = new Map()): Map<Value, Shape> {
  const shapes = new Map<Value, Shape>();
  const known = (value: Value): Shape | undefined => {
    const from = given.get(value.name) ?? value.constValue?.dims ?? staticShape(value);
    return from === undefined ? undefined : [...from];
  };
  for (const value of graph.inputs) setIf(shapes, value, known(value));
  for (const value of graph.initializers.values()) setIf(shapes, value, known(value));
  for (const node of graph) {
    const context: RuleContext = {
      node,
      shape: (i) => {
        const value = node.inputs[i];
        return value === undefined || value.name === '' ? undefined : shapes.get(value);
      },
      ints: (i) => constInts(node.inputs[i]),
      attrInt: (name, fallback) => {
        const a = node.attribute(name);
        return a === undefined ? fallback : a.asNumber();
      },
      attrInts: (name) => {
        const a = node.attribute(name);
        return a === undefined ? undefined : a.asNumbers();
      },
      attrString: (name) => {
        const a = node.attribute(name);
        return a?.type === AttributeType.STRING ? a.asString() : undefined;
      },
    };
    let ruled: (Shape | undefined)[] | undefined;
    node.outputs.forEach((output, index) => {
      const fixed = known(output);
      if (fixed !== undefined) return setIf(shapes, output, fixed);
      ruled ??= safely(() => outputShapes(context));
      setIf(shapes, output, ruled?.[index]);
    });
  }
  return shapes;
}

interface RuleContext {
  node: Node;
  shape(index: number): Shape | undefined;
  ints(index: number): number[] | undefined;
  attrInt(name: string, fallback?: number): number | undefined;
  attrInts(name: string): number[] | undefined;
  attrString(name: string): string | undefined;
}

function setIf(shapes: Map<Value, Shape>, value: Value, shape: Shape | undefined): void {
  if (shape !== undefined && shape.every((d) => Number.isSafeInteger(d) && d >= 0)) shapes.set(value, shape);
}

/** A rule that meets an inconsistent graph gives no shape rather than an error: perf reports unknown shapes. */
function safely(rule: () => (Shape | undefined)[] | undefined): (Shape | undefined)[] | undefined {
  try {
    return rule();
  } catch {
    return undefined;
  }
}

function staticShape(value: Value): Shape | undefined {
  const dims = tensorShape(value.type);
  if (dims === undefined || !dims.every((d) => typeof d === 'number')) return undefined;
  return dims as number[];
}

/** The integer values of a constant input (an initializer or a Constant node's output). */
function constInts(value: Value | undefined): number[] | undefined {
  if (value === undefined || value.name === '') return undefined;
  let tensor: Tensor | undefined = value.constValue;
  const producer = value.producer();
  if (tensor === undefined && producer?.opType === 'Constant' && (producer.domain === '' || producer.domain === 'ai.onnx')) {
    const attribute = producer.attribute('value');
    if (attribute?.type === AttributeType.TENSOR) tensor = attribute.value as Tensor;
    else if (producer.attribute('value_ints')) return producer.attribute('value_ints')!.asNumbers();
    else if (producer.attribute('value_int')) return [producer.attribute('value_int')!.asNumber()];
  }
  if (tensor === undefined) return undefined;
  return Array.from(tensor.toArray() as ArrayLike<number | bigint>, Number);
}

const SAME_SHAPE = new Set([
  'Quantize', 'Dequantize', 'Rescale', 'QuantizeLinear', 'DequantizeLinear', 'Identity', 'Cast', 'Relu', 'Sigmoid',
  'Tanh', 'Clip', 'Softmax', 'LogSoftmax', 'LayerNormalization', 'BatchNormalization', 'InstanceNormalization',
  'Erf', 'Gelu', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Elu', 'Selu', 'Mish',
  'Softplus', 'Softsign', 'Reciprocal', 'Sin', 'Cos', 'Floor', 'Ceil', 'Round', 'Sign', 'Not', 'IsNaN', 'IsInf',
  'Dropout', 'LpNormalization', 'CumSum', 'Celu', 'ThresholdedRelu', 'Shrink', 'Lut',
  'Epilogue', 'ScaleShift',
]);
const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mean', 'Sum', 'Equal', 'Greater', 'GreaterOrEqual', 'Less',
  'LessOrEqual', 'And', 'Or', 'Xor', 'Where', 'PRelu', 'Mod', 'BitShift',
]);
const POOL = new Set(['MaxPool', 'AveragePool', 'LpPool']);
const GLOBAL_POOL = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

function outputShapes(c: RuleContext): (Shape | undefined)[] | undefined {
  const op = c.node.opType;
  const x = c.shape(0);
  if (SAME_SHAPE.has(op)) return [x];
  if (BROADCAST.has(op)) return [broadcast(c.node.inputs.map((_, i) => c.shape(i)).filter((_, i) => c.node.inputs[i] !== undefined))];
  if (POOL.has(op)) return x && [windowed(c, x, x[1]!, c.attrInts('kernel_shape'))];
  if (GLOBAL_POOL.has(op)) return x && [[x[0]!, x[1]!, ...x.slice(2).map(() => 1)]];
  if (REDUCE.has(op)) return x && [reduce(c, x)];
  switch (op) {
    case 'Conv': {
      const w = c.shape(1);
      return x && w && [windowed(c, x, w[0]!, c.attrInts('kernel_shape') ?? w.slice(2))];
    }
    case 'ConvTranspose':
      return x && c.shape(1) && [convTranspose(c, x, c.shape(1)!)];
    case 'MatMul':
    case 'MatMulInteger':
      return x && c.shape(1) && [matmul(x, c.shape(1)!)];
    case 'Gemm': {
      const b = c.shape(1);
      if (!x || !b) return undefined;
      return [[c.attrInt('transA', 0) ? x[1]! : x[0]!, c.attrInt('transB', 0) ? b[0]! : b[1]!]];
    }
    case 'Reshape': {
      const target = c.ints(1) ?? c.attrInts('shape');
      return x && target && [reshape(x, target, c.attrInt('allowzero', 0) === 1)];
    }
    case 'Flatten': {
      if (!x) return undefined;
      const axis = normAxis(c.attrInt('axis', 1)!, x.length);
      return [[product(x.slice(0, axis)), product(x.slice(axis))]];
    }
    case 'Transpose': {
      if (!x) return undefined;
      const perm = c.attrInts('perm') ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p]!)];
    }
    case 'Concat': {
      const all = c.node.inputs.map((_, i) => c.shape(i));
      if (all.some((s) => s === undefined) || all.length === 0) return undefined;
      const first = all[0]!;
      const axis = normAxis(c.attrInt('axis', 0)!, first.length);
      const out = [...first];
      out[axis] = all.reduce((n, s) => n + s![axis]!, 0);
      return [out];
    }
    case 'Squeeze': {
      if (!x || computedInput(c, 1)) return undefined;
      const axes = (c.ints(1) ?? c.attrInts('axes'))?.map((a) => normAxis(a, x.length));
      return [x.filter((d, i) => (axes ? !axes.includes(i) : d !== 1))];
    }
    case 'Unsqueeze': {
      const axes = c.ints(1) ?? c.attrInts('axes');
      if (!x || !axes) return undefined;
      const rank = x.length + axes.length;
      const at = new Set(axes.map((a) => normAxis(a, rank)));
      const out: number[] = [];
      let next = 0;
      for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : x[next++]!);
      return [out];
    }
    case 'Slice':
      return x && slice(c, x);
    case 'Split':
      return x && split(c, x);
    case 'Gather': {
      const indices = c.shape(1);
      if (!x || !indices) return undefined;
      const axis = normAxis(c.attrInt('axis', 0)!, x.length);
      return [[...x.slice(0, axis), ...indices, ...x.slice(axis + 1)]];
    }
    case 'Pad': {
      const pads = c.ints(1) ?? c.attrInts('pads');
      if (!x || !pads) return undefined;
      const axes = (c.ints(3) ?? x.map((_, i) => i)).map((a) => normAxis(a, x.length));
      const out = [...x];
      axes.forEach((axis, i) => (out[axis] = out[axis]! + pads[i]! + pads[i + axes.length]!));
      return [out];
    }
    case 'Resize':
    case 'Upsample': {
      if (!x) return undefined;
      // Resize-10 and Upsample take (X, scales); Resize-11+ takes (X, roi, scales, sizes).
      const legacy = op === 'Upsample' || c.node.inputs.length === 2;
      const sizes = legacy ? undefined : c.ints(3);
      if (sizes && sizes.length > 0) return [sizes];
      const scaleTensor = constantTensor(c.node.inputs[legacy ? 1 : 2]);
      const scales = (scaleTensor && Array.from(scaleTensor.toFloat32())) ?? c.attrInts('scales');
      return scales && scales.length === x.length ? [x.map((d, i) => Math.floor(d * scales[i]!))] : undefined;
    }
    case 'Expand': {
      const target = c.ints(1);
      return x && target && [broadcast([x, target])];
    }
    case 'Tile': {
      const repeats = c.ints(1);
      return x && repeats && [x.map((d, i) => d * repeats[i]!)];
    }
    case 'DepthToSpace':
    case 'SpaceToDepth': {
      const b = c.attrInt('blocksize')!;
      if (!x || x.length !== 4) return undefined;
      const [n, ch, h, w] = x as [number, number, number, number];
      return [op === 'DepthToSpace' ? [n, ch / (b * b), h * b, w * b] : [n, ch * b * b, h / b, w / b]];
    }
    case 'ArgMax':
    case 'ArgMin': {
      if (!x) return undefined;
      const axis = normAxis(c.attrInt('axis', 0)!, x.length);
      return [c.attrInt('keepdims', 1) ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis)];
    }
    case 'Shape':
      return x && [[x.length]];
    case 'Size':
      return [[]];
    case 'Constant': {
      const value = c.node.attribute('value');
      return value?.type === AttributeType.TENSOR ? [(value.value as Tensor).dims] : undefined;
    }
    default:
      return undefined;
  }
}

/** Conv and pooling output: [N, channels, spatial…] from pads / strides / dilations / auto_pad / ceil_mode. */
function windowed(c: RuleContext, x: Shape, channels: number, kernel: readonly number[] | undefined): Shape | undefined {
  if (kernel === undefined) return undefined;
  const spatial = x.slice(2);
  const strides = c.attrInts('strides') ?? spatial.map(() => 1);
  const dilations = c.attrInts('dilations') ?? spatial.map(() => 1);
  const pads = c.attrInts('pads') ?? spatial.flatMap(() => [0, 0]);
  const autoPad = c.attrString('auto_pad') ?? 'NOTSET';
  const ceil = c.attrInt('ceil_mode', 0) === 1;
  const out = spatial.map((size, i) => {
    const stride = strides[i]!;
    const span = (kernel[i]! - 1) * dilations[i]! + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / stride);
    if (autoPad === 'VALID') return Math.floor((size - span) / stride) + 1;
    const padded = size + pads[i]! + pads[i + spatial.length]! - span;
    if (!ceil) return Math.floor(padded / stride) + 1;
    // As onnxruntime (and PyTorch): a last window that would start inside the end padding is dropped.
    const windows = Math.ceil(padded / stride) + 1;
    return (windows - 1) * stride >= size + pads[i]! ? windows - 1 : windows;
  });
  return [x[0]!, channels, ...out];
}

function convTranspose(c: RuleContext, x: Shape, w: Shape): Shape {
  const spatial = x.slice(2);
  const channels = w[1]! * c.attrInt('group', 1)!;
  const explicit = c.attrInts('output_shape');
  if (explicit) return [x[0]!, channels, ...explicit.slice(-spatial.length)];
  const kernel = c.attrInts('kernel_shape') ?? w.slice(2);
  const strides = c.attrInts('strides') ?? spatial.map(() => 1);
  const dilations = c.attrInts('dilations') ?? spatial.map(() => 1);
  const pads = c.attrInts('pads') ?? spatial.flatMap(() => [0, 0]);
  const outputPadding = c.attrInts('output_padding') ?? spatial.map(() => 0);
  const autoPad = c.attrString('auto_pad') ?? 'NOTSET';
  return [
    x[0]!,
    channels,
    ...spatial.map((size, i) => {
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i]!;
      return strides[i]! * (size - 1) + outputPadding[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - pads[i]! - pads[i + spatial.length]!;
    }),
  ];
}

/** numpy matmul: 1-D operands are promoted and the added dim removed; batch dims broadcast. */
function matmul(a: Shape, b: Shape): Shape | undefined {
  const left = a.length === 1 ? [1, a[0]!] : a;
  const right = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcast([left.slice(0, -2), right.slice(0, -2)]);
  if (!batch) return undefined;
  const out = [...batch];
  if (a.length > 1) out.push(left[left.length - 2]!);
  if (b.length > 1) out.push(right[right.length - 1]!);
  return out;
}

/** Multidirectional (numpy) broadcasting; undefined when a shape is unknown or the shapes do not broadcast. */
function broadcast(shapes: readonly (Shape | undefined)[]): Shape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s![s!.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && dim !== d) return undefined;
      dim = d;
    }
    out.push(dim);
  }
  return out;
}

function reshape(x: Shape, target: readonly number[], allowZero: boolean): Shape | undefined {
  const out = target.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const rest = product(out.filter((_, i) => i !== unknown));
    if (rest === 0) return undefined;
    out[unknown] = product(x) / rest;
  }
  return out;
}

/**
 * Whether input `index` is present but not a constant. Squeeze and the Reduce ops read absent axes as "all";
 * axes computed at run time must give no shape instead.
 */
function computedInput(c: RuleContext, index: number): boolean {
  const value = c.node.inputs[index];
  return value !== undefined && value.name !== '' && c.ints(index) === undefined;
}

function reduce(c: RuleContext, x: Shape): Shape | undefined {
  if (computedInput(c, 1)) return undefined;
  const axes = (c.attrInts('axes') ?? c.ints(1))?.map((a) => normAxis(a, x.length));
  const keep = c.attrInt('keepdims', 1) === 1;
  const all = axes === undefined || axes.length === 0;
  if (all && c.attrInt('noop_with_empty_axes', 0) === 1) return x;
  const reduced = (i: number) => all || axes!.includes(i);
  return keep ? x.map((d, i) => (reduced(i) ? 1 : d)) : x.filter((_, i) => !reduced(i));
}

function slice(c: RuleContext, x: Shape): Shape[] | undefined {
  const starts = c.ints(1) ?? c.attrInts('starts');
  const ends = c.ints(2) ?? c.attrInts('ends');
  if (!starts || !ends) return undefined;
  const axes = (c.ints(3) ?? c.attrInts('axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.length));
  const steps = c.ints(4) ?? starts.map(() => 1);
  const out = [...x];
  axes.forEach((axis, i) => {
    const size = x[axis]!;
    const step = steps[i]!;
    const clampIndex = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + size : v, lo), hi);
    const start = step > 0 ? clampIndex(starts[i]!, 0, size) : clampIndex(starts[i]!, 0, size - 1);
    const end = step > 0 ? clampIndex(ends[i]!, 0, size) : clampIndex(ends[i]!, -1, size - 1);
    out[axis] = Math.max(0, Math.ceil((end - start) / step));
  });
  return [out];
}

function split(c: RuleContext, x: Shape): Shape[] | undefined {
  const axis = normAxis(c.attrInt('axis', 0)!, x.length);
  const count = c.node.outputs.length;
  let parts = c.ints(1) ?? c.attrInts('split');
  if (!parts) {
    const size = x[axis]!;
    const chunk = Math.ceil(size / count);
    parts = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(chunk, size - chunk * i)));
  }
  return parts.map((part) => x.map((d, i) => (i === axis ? part : d)));
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function product(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}
