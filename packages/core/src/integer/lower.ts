import { QuantkitError } from '../errors/quantkit-error.js';
import { AttributeType } from '../ir/attribute.js';
import { cloneModel } from '../ir/clone.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { inferElemTypes } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorElemType, tensorShape, tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { upgradeOpset } from '../qdq/upgrade-opset.js';
import { INTEGER_DOMAIN, INTEGER_RANGE, isIntegerOp, type IntegerDtype, type NarrowDtype } from './integer-ops.js';
import {
  accShiftAttr,
  dequantizeAttrs,
  gemmOutputAttrs,
  intAttr,
  quantizeAttrs,
  rescaleAttrs,
  scaleShiftAttrs,
  stringAttr,
  type GemmOutputAttrs,
} from './node-attrs.js';
import { ORT_GAP_DATA_INPUTS, ORT_INTEGER_GAPS } from './ort-support.js';
import { epilogueAttrs, HARD_SWISH_ALPHA, SQRT_2_OVER_PI, type EpilogueStep } from './epilogue.js';
import { decodeMultiplier, outputBounds, type OutputBounds, type RescaleParams } from './requant.js';

/**
 * Lowers the integer IR to standard ONNX (opset 21) that onnxruntime runs and that computes the same integers as
 * the interpreter, bit for bit:
 *
 * 1. Quantize → QuantizeLinear (int8 / int16 zero point 0); rounding 'bpu' → Div in float32, then floor(v + 0.5),
 *    Clip and Cast in float64.
 * 2. Dequantize → DequantizeLinear (per tensor or per axis; int32 input included).
 * 3. Rescale → Cast to float64, y = Floor(t + 0.5) with t = acc · (multiplier · 2^−shift), Clip to the output
 *    bounds, Cast. Exact: t is exact (|acc · multiplier| ≤ 2^53 − 2^31 has at most 53 significant bits, and the
 *    power-of-two factor is exact). t + 0.5 lies on the grid of 2^−shift, which 53 bits cover below 2^(53−shift);
 *    beyond, t + 0.5 ∈ [2^(53−shift), 2^(53−shift) + 0.5) (as |acc · multiplier| < 2^53), where rounding moves it
 *    by less than 0.5 and so cannot change its floor. For t < 0 the sum is smaller than |t|: exact.
 * 4. Conv → ConvInteger on uint8 × uint8 with zero points: x_u = x + 128 (zero point 128), w_u = w + 128 (zero point
 *    128). onnxruntime's x86 u8 × s8 kernels (AVX2 without VNNI, vpmaddubsw) can saturate 16-bit pair sums; its
 *    u8 × u8 kernels widen to 16 bits first, so they are exact on every CPU. An int16 x is split into bytes,
 *    x = 256 · hi + lo with hi = floor(x / 256) ∈ [−128, 127] (fed as hi + 128, zero point 128) and lo ∈ [0, 255]
 *    (zero point 0), computed exactly in float32; an int16 w likewise (its bytes computed here, as initializers when
 *    it is a constant). acc = Σ over the byte pairs of 256^(number of high bytes) · ConvInteger(x part, w part),
 *    combined in float64 (|acc| ≤ K · 2^30, far below 2^53). Every int32 quantity inside ConvInteger (Σ x_u · w_u ≤
 *    K · 255², the row / column sums times 128, K · 128²) stays below 2^31 for K = (C / group) · Π kernel ≤
 *    {@link CONV_MAX_K}; a larger K is refused. The acc_shift (integer-ops.ts) is applied to the exact float64 sum
 *    as Floor((acc + 2^(s−1)) · 2^−s), exact; then the bias is added in float64.
 * 4b. ConvTranspose → ConvTranspose in float32 (onnxruntime has no integer or float64 one), exact because every
 *    product is an integer of at most 2^15 and every partial sum an integer below 2^24: the reduction length
 *    K = (C / group) · Π kernel of one pass is at most {@link CONV_TRANSPOSE_MAX_K} (int8 operands, |x · w| ≤ 2^14),
 *    halved for an int16 x and halved again for an int16 w (both split into bytes as in 4: |lo · w| < 2^15,
 *    |lo · lo| < 2^16). A larger C is split into passes over slices of the input channels (group 1), one per byte
 *    pair, summed in float64 with the factors of 4; acc_shift and the bias as in 4.
 * 5. Gemm / MatMul → Cast to float64, Gemm / MatMul in float64 (every product of int16 operands is at most 2^30,
 *    so every partial sum is an integer below 2^53 for K ≤ 2^22 and any summation order is exact), acc_shift as in 4,
 *    bias added in float64.
 * 6. Output stage of 4 and 5: Clip to the int32 range (acc saturation) and then, per out_dtype, the Rescale chain of
 *    3; or Clip to the relu / clip bounds and Cast to int32; or that int32 through DequantizeLinear with the
 *    per-channel float32 scale x_scale · w_scale[c].
 * 7. Lut → Gather(table, Cast(q, int32) − min): the table lookup itself, exact.
 * 7b. Epilogue → DequantizeLinear of the accumulator, each step as the standard float32 ops of its arithmetic
 *    (epilogue.ts: Relu, Clip, Mul, Add, Min; a transcendental step as Cast to float64, Sigmoid / Tanh / Mul / Add,
 *    Cast to float32), QuantizeLinear, and a Clip (in float32, exact for these integers) when clip_min / clip_max
 *    narrow the range. Bit for bit the interpreter's float32 operations; a float64 Sigmoid / Tanh may differ from
 *    JavaScript's in its last bit, which changes the float32 result only when it lies that close to a rounding
 *    boundary.
 * 7c. ScaleShift → Cast to float64, q · multiplier + offset (an exact integer below 2^53), times 2^−shift (exact),
 *    Floor, Clip to the output range, Cast: exact.
 *    VPU islands (any other quantkit op) → the standard op, without `unit`.
 * 8. Standard pass-through ops that onnxruntime lacks for an integer dtype (ort-support.ts) run between Casts to
 *    an exact float carrier.
 * The model is copied; a model below opset 21 is upgraded first (upgradeOpset). Graph input and output names are
 * kept.
 */
export function lowerToStandard(model: Model): Model {
  const lowered = cloneModel(model);
  if (lowered.opset < LOWERED_OPSET) upgradeOpset(lowered, LOWERED_OPSET);
  const { graph } = lowered;
  annotateIntegerTypes(graph);
  const context: LoweringContext = { types: inferElemTypes(graph), ranks: inferRanks(graph) };
  for (const node of graph.nodes()) {
    if (node.domain === INTEGER_DOMAIN) {
      lowerIntegerNode(graph, node, context);
    } else if ((node.domain === '' || node.domain === 'ai.onnx') && Object.hasOwn(ORT_INTEGER_GAPS, node.opType)) {
      castAroundGap(graph, node, context.types);
    }
  }
  const opset = Math.max(lowered.opset, LOWERED_OPSET);
  lowered.opsetImports.delete(INTEGER_DOMAIN);
  lowered.opsetImports.set(lowered.opsetImports.has('ai.onnx') ? 'ai.onnx' : '', opset);
  lowered.irVersion = Math.max(lowered.irVersion, 10);
  // Integer weights that the lowering replaced (e.g. by their uint8-offset copies for ConvInteger) go away.
  for (const value of [...graph.initializers.values()]) {
    if (value.useCount === 0 && !graph.outputs.includes(value)) graph.removeInitializer(value);
  }
  return lowered;
}

export const LOWERED_OPSET = 21;
/** The largest Conv reduction length the ConvInteger lowering keeps exact: K · 255² < 2^31. */
export const CONV_MAX_K = 33025;
/** The largest ConvTranspose reduction length of one float32 pass over int8 operands: K · 2^14 ≤ 2^24. */
export const CONV_TRANSPOSE_MAX_K = 1024;
/** The largest Gemm / MatMul reduction length the float64 lowering keeps exact: K · 2^30 < 2^53. */
export const GEMM_MAX_K = 2 ** 22;

const ONNX_INTEGER: Record<IntegerDtype, number> = {
  int8: DataType.INT8,
  int16: DataType.INT16,
  int32: DataType.INT32,
};
const INTEGER_OF_ONNX = new Map<number, IntegerDtype>([
  [DataType.INT8, 'int8'],
  [DataType.INT16, 'int16'],
  [DataType.INT32, 'int32'],
]);

function lowerError(node: Node, message: string, hint?: string): QuantkitError {
  return new QuantkitError('QK_UNSUPPORTED', `Cannot lower node ${node.describe()} to onnxruntime: ${message}`, {
    subject: node.name,
    hint,
  });
}

/** Declares the element type of every quantkit output, so that inferElemTypes sees through the custom ops. */
function annotateIntegerTypes(graph: Graph): void {
  for (const node of graph) {
    if (node.domain !== INTEGER_DOMAIN) continue;
    let elemType: number = DataType.FLOAT;
    if (node.opType === 'Quantize') elemType = dtypeOf(stringAttr(node, 'dtype'));
    else if (['Rescale', 'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Lut', 'Epilogue', 'ScaleShift'].includes(node.opType)) {
      elemType = dtypeOf(stringAttr(node, 'out_dtype'));
    }
    for (const output of node.outputs) {
      if (tensorElemType(output.type) === undefined) output.type = tensorType(elemType, tensorShape(output.type));
    }
  }
}

function dtypeOf(name: string | undefined): number {
  switch (name) {
    case 'int8':
      return DataType.INT8;
    case 'int16':
      return DataType.INT16;
    case 'int32':
      return DataType.INT32;
    default:
      return DataType.FLOAT;
  }
}

/** Inserts standard nodes before `anchor`, named after it. */
class Emitter {
  constructor(
    private readonly graph: Graph,
    private readonly anchor: Node,
  ) {}

  op(opType: string, inputs: (Value | undefined)[], attributes: Record<string, number | number[] | string> = {}, output?: Value): Value {
    const name = this.graph.uniqueName(`${this.anchor.name || this.anchor.opType}/${opType}`);
    const out = output ?? new Value(this.graph.uniqueName(`${name}_out`));
    this.graph.insertBefore(this.anchor, new Node({ opType, name, inputs, outputs: [out], attributes }));
    return out;
  }

  constant(label: string, tensor: Tensor): Value {
    const name = this.graph.uniqueName(`${this.anchor.name || this.anchor.opType}/${label}`);
    return this.graph.addInitializer(new Value(name), tensor);
  }

  f32(label: string, value: number): Value {
    return this.constant(label, Tensor.fromArray(Float32Array.of(value), []));
  }

  f64(label: string, value: number): Value {
    return this.constant(label, Tensor.fromArray(Float64Array.of(value), []));
  }

  cast(input: Value, to: number, output?: Value): Value {
    return this.op('Cast', [input], { to }, output);
  }
}

/** Dims that broadcast `count` per-channel values along `axis` of a rank-`rank` tensor (a scalar for one value). */
function channelDims(count: number, rank: number, axis: number): number[] {
  const trailing = axis < 0 ? -1 - axis : rank - 1 - axis;
  return count === 1 ? [] : [count, ...Array.from({ length: trailing }, () => 1)];
}

/** Ops whose output has the rank of their first input. */
const SAME_RANK = new Set(['Identity', 'Relu', 'Sigmoid', 'Tanh', 'Softmax', 'LayerNormalization', 'MaxPool', 'Pad', 'Transpose', 'Cast', 'Clip']);

/**
 * Ranks of the values, from declared shapes and initializers and through the ops that keep or fix the rank;
 * computed before any rewrite, since per-channel constants need the rank of values whose producers get replaced.
 */
function inferRanks(graph: Graph): Map<Value, number> {
  const ranks = new Map<Value, number>();
  const rankOf = (value: Value | undefined): number | undefined => {
    if (!value) return undefined;
    return ranks.get(value) ?? tensorShape(value.type)?.length ?? value.constValue?.dims.length;
  };
  for (const value of graph.inputs) if (rankOf(value) !== undefined) ranks.set(value, rankOf(value)!);
  for (const node of graph) {
    for (const output of node.outputs) {
      let rank = tensorShape(output.type)?.length;
      if (rank === undefined && node.domain === INTEGER_DOMAIN) {
        if (node.opType === 'Gemm') rank = 2;
        else if (node.opType === 'MatMul') {
          const [a, b] = [rankOf(node.inputs[0]), rankOf(node.inputs[1])];
          rank = a === undefined || b === undefined ? undefined : Math.max(a, b);
        } else rank = rankOf(node.inputs[node.opType === 'Conv' || node.opType === 'ConvTranspose' ? 1 : 0]);
      } else if (rank === undefined && node.opType === 'Flatten') rank = 2;
      else if (rank === undefined && SAME_RANK.has(node.opType)) rank = rankOf(node.inputs[0]);
      if (rank !== undefined) ranks.set(output, rank);
    }
  }
  return ranks;
}

interface LoweringContext {
  types: Map<Value, number>;
  ranks: Map<Value, number>;
}

function lowerIntegerNode(graph: Graph, node: Node, context: LoweringContext): void {
  if (!isIntegerOp(node.opType)) {
    node.domain = '';
    node.attributes.delete('unit');
    return;
  }
  if (node.outputs.length !== 1) throw lowerError(node, `it has ${node.outputs.length} outputs, the op has one`);
  const output = node.output;
  node.replaceOutput(0, new Value(graph.uniqueName(`${output.name}_replaced`)));
  const emit = new Emitter(graph, node);
  switch (node.opType) {
    case 'Quantize':
      lowerQuantize(emit, node, output);
      break;
    case 'Dequantize':
      lowerDequantize(emit, node, output);
      break;
    case 'Rescale':
      lowerRescale(emit, node, output, context);
      break;
    case 'Conv':
      lowerConv(emit, node, output, context.types);
      break;
    case 'ConvTranspose':
      lowerConvTranspose(emit, node, output, context.types);
      break;
    case 'Lut':
      lowerLut(emit, node, output, context.types);
      break;
    case 'Epilogue':
      lowerEpilogue(emit, node, output, context);
      break;
    case 'ScaleShift':
      lowerScaleShift(emit, node, output, context);
      break;
    case 'Gemm':
    case 'MatMul':
      lowerGemm(emit, node, output, context);
      break;
  }
  graph.remove(node);
}

function input(node: Node, index: number, what: string): Value {
  const value = node.inputs[index];
  if (!value) throw lowerError(node, `${what} (input ${index}) is missing`);
  return value;
}

function integerType(node: Node, value: Value, types: Map<Value, number>, allowed: readonly IntegerDtype[], what: string): IntegerDtype {
  const elemType = types.get(value) ?? tensorElemType(value.type) ?? value.constValue?.dtype;
  const dtype = elemType === undefined ? undefined : INTEGER_OF_ONNX.get(elemType);
  if (!dtype || !allowed.includes(dtype)) {
    throw lowerError(
      node,
      `${what} '${value.name}' is ${elemType === undefined ? 'of unknown type' : dtypeName(elemType)}, not ${allowed.join(' or ')}`,
      'Declare the value types of the integer model (convert writes them).',
    );
  }
  return dtype;
}

function lowerQuantize(emit: Emitter, node: Node, output: Value): void {
  const { scale, dtype, rounding } = quantizeAttrs(node);
  const x = input(node, 0, 'x');
  const scaleValue = emit.f32('scale', scale);
  if (rounding === 'half_even') {
    const zeroPoint = emit.constant(
      'zero_point',
      dtype === 'int8' ? Tensor.fromArray(Int8Array.of(0), []) : Tensor.fromArray(Int16Array.of(0), []),
    );
    emit.op('QuantizeLinear', [x, scaleValue, zeroPoint], {}, output);
    return;
  }
  const v = emit.cast(emit.op('Div', [x, scaleValue]), DataType.DOUBLE);
  const rounded = emit.op('Floor', [emit.op('Add', [v, emit.f64('half', 0.5)])]);
  const range = INTEGER_RANGE[dtype];
  const clipped = emit.op('Clip', [rounded, emit.f64('min', range.min), emit.f64('max', range.max)]);
  emit.cast(clipped, ONNX_INTEGER[dtype], output);
}

function scaleTensor(scales: ArrayLike<number>): Tensor {
  const data = Float32Array.from(scales);
  return Tensor.fromArray(data, data.length === 1 ? [] : [data.length]);
}

function lowerDequantize(emit: Emitter, node: Node, output: Value): void {
  const { scale, axis } = dequantizeAttrs(node);
  const attributes: Record<string, number> = scale.length > 1 ? { axis } : {};
  emit.op('DequantizeLinear', [input(node, 0, 'q'), emit.constant('scale', scaleTensor(scale))], attributes, output);
}

/** The exact rescale chain (case 3) from a float64 accumulator to `output`. */
function emitRescale(
  emit: Emitter,
  acc: Value,
  params: RescaleParams,
  bounds: OutputBounds,
  dims: number[],
  output: Value,
): void {
  const factors = Float64Array.from(params.multiplier, (m, c) => decodeMultiplier(m, params.shift[c]!));
  const t = emit.op('Mul', [acc, emit.constant('multiplier', Tensor.fromArray(factors, dims))]);
  const rounded = emit.op('Floor', [emit.op('Add', [t, emit.f64('half', 0.5)])]);
  const clipped = emit.op('Clip', [rounded, emit.f64('lo', bounds.lo), emit.f64('hi', bounds.hi)]);
  emit.cast(clipped, ONNX_INTEGER[params.outDtype as NarrowDtype], output);
}

function lowerRescale(emit: Emitter, node: Node, output: Value, context: LoweringContext): void {
  const attrs = rescaleAttrs(node);
  const acc = input(node, 0, 'acc');
  integerType(node, acc, context.types, ['int8', 'int16', 'int32'], 'the input');
  let dims: number[] = [];
  if (attrs.multiplier.length > 1) {
    const rank = context.ranks.get(acc);
    if (rank === undefined) {
      if (attrs.axis !== -1) {
        throw lowerError(node, 'a per-channel Rescale needs its input rank', "Declare the input's shape.");
      }
      dims = [attrs.multiplier.length];
    } else {
      const axis = attrs.axis < 0 ? attrs.axis + rank : attrs.axis;
      if (axis < 0 || axis >= rank) throw lowerError(node, `axis ${attrs.axis} is outside a rank-${rank} tensor`);
      dims = channelDims(attrs.multiplier.length, rank, axis);
    }
  }
  const bounds = outputBounds(attrs.outDtype, attrs.relu, attrs.clip, `Node ${node.describe()}`);
  emitRescale(emit, emit.cast(acc, DataType.DOUBLE), attrs, bounds, dims, output);
}

/** Case 6: the output stage from float64 sums (bias included), channels along `axis` of a rank-`rank` result. */
function emitOutputStage(
  emit: Emitter,
  node: Node,
  acc: Value,
  attrs: GemmOutputAttrs,
  rank: number,
  axis: number,
  output: Value,
): void {
  const int32 = INTEGER_RANGE.int32;
  if (attrs.rescale) {
    const saturated = emit.op('Clip', [acc, emit.f64('int32_min', int32.min), emit.f64('int32_max', int32.max)]);
    const bounds = outputBounds(attrs.rescale.outDtype, attrs.relu, attrs.clip, `Node ${node.describe()}`);
    emitRescale(emit, saturated, attrs.rescale, bounds, channelDims(attrs.rescale.multiplier.length, rank, axis), output);
    return;
  }
  const { lo, hi } = attrs.accBounds!;
  const clipped = emit.op('Clip', [acc, emit.f64('lo', lo), emit.f64('hi', hi)]);
  if (attrs.outDtype === 'int32') {
    emit.cast(clipped, DataType.INT32, output);
    return;
  }
  const scale = attrs.floatScale!;
  const attributes: Record<string, number> = scale.length > 1 ? { axis } : {};
  emit.op('DequantizeLinear', [emit.cast(clipped, DataType.INT32), emit.constant('scale', scaleTensor(scale))], attributes, output);
}

/** An int8 tensor as uint8 + 128 (read with zero point 128): initializers are converted here, others by nodes. */
function offsetToUint8(emit: Emitter, value: Value): Value {
  const tensor = value.constValue;
  if (tensor && tensor.dtype === DataType.INT8) {
    const data = Uint8Array.from(tensor.toArray() as Int8Array, (v) => v + 128);
    return emit.constant(`${value.name}_u8`, Tensor.fromArray(data, tensor.dims));
  }
  const shifted = emit.op('Add', [emit.cast(value, DataType.FLOAT), emit.f32('offset', 128)]);
  return emit.cast(shifted, DataType.UINT8);
}

const CONV_INTEGER_ATTRIBUTES = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'];

function lowerConv(emit: Emitter, node: Node, output: Value, types: Map<Value, number>): void {
  const x = input(node, 0, 'x');
  const w = input(node, 1, 'w');
  const bias = node.inputs[2];
  const xType = integerType(node, x, types, ['int8', 'int16'], 'x');
  const wType = integerType(node, w, types, ['int8', 'int16'], 'w');
  const wDims = tensorShape(w.type) ?? w.constValue?.dims;
  if (!wDims || wDims.length < 3 || wDims.some((d) => typeof d !== 'number')) {
    throw lowerError(node, 'the weight shape is unknown', 'Conv weights must be initializers or have a declared shape.');
  }
  const dims = wDims as number[];
  const k = dims.slice(1).reduce((a, b) => a * b, 1);
  if (k > CONV_MAX_K) {
    throw lowerError(
      node,
      `its reduction length (C / group · kernel) is ${k}; ConvInteger stays exact up to ${CONV_MAX_K}`,
      'Split the conv along its input channels.',
    );
  }
  const channels = dims[0]!;
  const attrs = gemmOutputAttrs(node, channels);
  const convAttributes = plainAttributes(node, CONV_INTEGER_ATTRIBUTES);
  const xParts = uint8Parts(emit, x, xType);
  const wParts = uint8Parts(emit, w, wType);
  let acc: Value | undefined;
  for (const xp of xParts) {
    for (const wp of wParts) {
      let part = emit.cast(emit.op('ConvInteger', [xp.data, wp.data, xp.zeroPoint, wp.zeroPoint], convAttributes), DataType.DOUBLE);
      const factor = xp.factor * wp.factor;
      if (factor !== 1) part = emit.op('Mul', [part, emit.f64('factor', factor)]);
      acc = acc ? emit.op('Add', [acc, part]) : part;
    }
  }
  acc = emitAccShift(emit, node, acc!);
  if (bias) {
    integerType(node, bias, types, ['int32'], 'the bias');
    const shape = Tensor.fromArray(BigInt64Array.from([-1n, ...dims.slice(2).map(() => 1n)]), [dims.length - 1]);
    const biasD = emit.op('Reshape', [emit.cast(bias, DataType.DOUBLE), emit.constant('bias_shape', shape)]);
    acc = emit.op('Add', [acc, biasD]);
  }
  emitOutputStage(emit, node, acc, attrs, dims.length, 1, output);
}

/** One byte of an integer operand as ConvInteger reads it: uint8 data, its zero point, and its weight in the sum. */
interface Uint8Part {
  data: Value;
  zeroPoint: Value;
  factor: number;
}

/**
 * An int8 operand as uint8 + 128 (zero point 128); an int16 one as its high byte floor(v / 256) + 128 (zero point
 * 128, factor 256) and its low byte v − 256 · floor(v / 256) (zero point 0, factor 1), exact in float32 (case 4).
 * A constant is split here, into initializers.
 */
function uint8Parts(emit: Emitter, value: Value, dtype: IntegerDtype): Uint8Part[] {
  const zp128 = emit.constant('zp128', Tensor.fromArray(Uint8Array.of(128), []));
  if (dtype === 'int8') return [{ data: offsetToUint8(emit, value), zeroPoint: zp128, factor: 1 }];
  const zp0 = emit.constant('zp0', Tensor.fromArray(Uint8Array.of(0), []));
  const tensor = value.constValue;
  if (tensor && tensor.dtype === DataType.INT16) {
    const data = tensor.toArray() as Int16Array;
    const high = Uint8Array.from(data, (v) => Math.floor(v / 256) + 128);
    const low = Uint8Array.from(data, (v) => v - 256 * Math.floor(v / 256));
    return [
      { data: emit.constant(`${value.name}_hi_u8`, Tensor.fromArray(high, tensor.dims)), zeroPoint: zp128, factor: 256 },
      { data: emit.constant(`${value.name}_lo_u8`, Tensor.fromArray(low, tensor.dims)), zeroPoint: zp0, factor: 1 },
    ];
  }
  const { high, low } = splitBytes(emit, emit.cast(value, DataType.FLOAT));
  return [
    { data: emit.cast(emit.op('Add', [high, emit.f32('offset', 128)]), DataType.UINT8), zeroPoint: zp128, factor: 256 },
    { data: emit.cast(low, DataType.UINT8), zeroPoint: zp0, factor: 1 },
  ];
}

/** hi = floor(v / 256) and lo = v − 256 · hi of an int16 tensor carried in float32 (exact). */
function splitBytes(emit: Emitter, vf: Value): { high: Value; low: Value } {
  const high = emit.op('Floor', [emit.op('Mul', [vf, emit.f32('inv256', 1 / 256)])]);
  const low = emit.op('Sub', [vf, emit.op('Mul', [high, emit.f32('c256', 256)])]);
  return { high, low };
}

/** The acc_shift of a GEMM on its exact float64 sum: Floor((acc + 2^(s−1)) · 2^−s), exact; `acc` itself for 0. */
function emitAccShift(emit: Emitter, node: Node, acc: Value): Value {
  const shift = accShiftAttr(node);
  if (shift === 0) return acc;
  const sum = emit.op('Add', [acc, emit.f64('acc_half', 2 ** (shift - 1))]);
  return emit.op('Floor', [emit.op('Mul', [sum, emit.f64('acc_unit', 2 ** -shift)])]);
}

const CONV_TRANSPOSE_ATTRIBUTES = [...CONV_INTEGER_ATTRIBUTES, 'output_padding', 'output_shape'];

/** Case 4b. */
function lowerConvTranspose(emit: Emitter, node: Node, output: Value, types: Map<Value, number>): void {
  const x = input(node, 0, 'x');
  const w = input(node, 1, 'w');
  const bias = node.inputs[2];
  const xType = integerType(node, x, types, ['int8', 'int16'], 'x');
  const wType = integerType(node, w, types, ['int8', 'int16'], 'w');
  const weight = w.constValue;
  if (!weight || weight.dims.length < 3) {
    throw lowerError(node, 'its weight is not a constant of rank 3 or more', 'ConvTranspose weights must be initializers.');
  }
  const dims = [...weight.dims];
  const group = intAttr(node, 'group', 1);
  const inChannels = dims[0]!;
  const taps = dims.slice(2).reduce((a, b) => a * b, 1);
  const limit = CONV_TRANSPOSE_MAX_K / (xType === 'int8' ? 1 : 2) / (wType === 'int8' ? 1 : 2);
  const perPass = Math.floor(limit / taps);
  const perGroup = inChannels / group;
  if (perPass < 1 || (perGroup > perPass && group !== 1)) {
    throw lowerError(
      node,
      `its reduction length (C / group · kernel) is ${perGroup * taps}; a float32 ConvTranspose stays exact up to ${limit} per pass and only ungrouped ones are split`,
      'Use a smaller kernel or fewer channels per group.',
    );
  }
  const attrs = gemmOutputAttrs(node, dims[1]! * group);
  const convAttributes = plainAttributes(node, CONV_TRANSPOSE_ATTRIBUTES);
  const integers = Float32Array.from(weight.toArray() as Int8Array | Int16Array);
  // The weight's parts with their factors (case 4): itself for int8, its high and low bytes for int16.
  const wParts =
    wType === 'int8'
      ? [{ values: integers, factor: 1, label: '' }]
      : [
          { values: integers.map((v) => Math.floor(v / 256)), factor: 256, label: '_hi' },
          { values: integers.map((v) => v - 256 * Math.floor(v / 256)), factor: 1, label: '_lo' },
        ];
  const rowSize = integers.length / inChannels;
  const step = perGroup > perPass ? perPass : inChannels;
  const i64 = (label: string, v: number) => emit.constant(label, Tensor.fromArray(BigInt64Array.of(BigInt(v)), [1]));
  const wChunks = wParts.map((part) => {
    const chunks: { start: number; end: number; w: Value }[] = [];
    for (let start = 0; start < inChannels; start += step) {
      const end = Math.min(inChannels, start + step);
      const data = part.values.slice(start * rowSize, end * rowSize);
      const name = `${w.name}${part.label}_f32_${start}`;
      chunks.push({ start, end, w: emit.constant(name, Tensor.fromArray(data, [end - start, ...dims.slice(1)])) });
    }
    return { chunks, factor: part.factor };
  });
  /** Σ over all input channels of data · w, in float64: one float32 ConvTranspose per weight part and channel slice. */
  const passes = (data: Value): Value => {
    let sum: Value | undefined;
    for (const { chunks, factor } of wChunks) {
      for (const chunk of chunks) {
        const slice =
          chunks.length === 1
            ? data
            : emit.op('Slice', [data, i64('start', chunk.start), i64('end', chunk.end), i64('axis', 1)]);
        let part = emit.cast(emit.op('ConvTranspose', [slice, chunk.w], convAttributes), DataType.DOUBLE);
        if (factor !== 1) part = emit.op('Mul', [part, emit.f64('factor', factor)]);
        sum = sum ? emit.op('Add', [sum, part]) : part;
      }
    }
    return sum!;
  };
  const xf = emit.cast(x, DataType.FLOAT);
  let acc: Value;
  if (xType === 'int8') {
    acc = passes(xf);
  } else {
    const { high, low } = splitBytes(emit, xf);
    acc = emit.op('Add', [emit.op('Mul', [passes(high), emit.f64('c256', 256)]), passes(low)]);
  }
  acc = emitAccShift(emit, node, acc);
  if (bias) {
    integerType(node, bias, types, ['int32'], 'the bias');
    const shape = Tensor.fromArray(BigInt64Array.from([-1n, ...dims.slice(2).map(() => 1n)]), [dims.length - 1]);
    const biasD = emit.op('Reshape', [emit.cast(bias, DataType.DOUBLE), emit.constant('bias_shape', shape)]);
    acc = emit.op('Add', [acc, biasD]);
  }
  emitOutputStage(emit, node, acc, attrs, dims.length, 1, output);
}

function lowerGemm(emit: Emitter, node: Node, output: Value, context: LoweringContext): void {
  const { types, ranks } = context;
  const a = input(node, 0, 'A');
  const b = input(node, 1, 'B');
  const bias = node.inputs[2];
  integerType(node, a, types, ['int8', 'int16'], 'A');
  integerType(node, b, types, ['int8', 'int16'], 'B');
  const isGemm = node.opType === 'Gemm';
  const transB = isGemm && intAttr(node, 'transB', 0) === 1;
  const bDims = tensorShape(b.type) ?? b.constValue?.dims;
  let channels: number | undefined;
  let k: number | undefined;
  if (bDims && bDims.length >= 1) {
    const last = bDims[bDims.length - 1];
    const other = bDims.length >= 2 ? bDims[bDims.length - 2] : undefined;
    const [kDim, nDim] = transB ? [last, other] : bDims.length === 1 ? [last, 1] : [other, last];
    channels = typeof nDim === 'number' ? nDim : undefined;
    k = typeof kDim === 'number' ? kDim : undefined;
  }
  if (k !== undefined && k > GEMM_MAX_K) {
    throw lowerError(node, `its reduction length ${k} exceeds ${GEMM_MAX_K}, where float64 sums stop being exact`);
  }
  const attrs = gemmOutputAttrs(node, channels);
  const aD = emit.cast(a, DataType.DOUBLE);
  const bD = emit.cast(b, DataType.DOUBLE);
  const biasD = bias ? emit.cast(bias, DataType.DOUBLE) : undefined;
  if (bias) integerType(node, bias, types, ['int32'], 'the bias');
  let acc: Value;
  let rank: number;
  const shifted = accShiftAttr(node) > 0;
  if (isGemm) {
    const attributes = { transA: intAttr(node, 'transA', 0), transB: intAttr(node, 'transB', 0) };
    acc = emit.op('Gemm', biasD && !shifted ? [aD, bD, biasD] : [aD, bD], attributes);
    rank = 2;
  } else {
    acc = emit.op('MatMul', [aD, bD]);
    rank = Math.max(ranks.get(a) ?? 2, ranks.get(b) ?? 2);
  }
  acc = emitAccShift(emit, node, acc);
  if (biasD && (!isGemm || shifted)) acc = emit.op('Add', [acc, biasD]);
  // Channels run along the last axis: a [C] vector broadcasts there, and DequantizeLinear takes axis -1, whatever
  // the rank.
  emitOutputStage(emit, node, acc, attrs, rank, -1, output);
}

/** Case 7: the table lookup. */
function lowerLut(emit: Emitter, node: Node, output: Value, types: Map<Value, number>): void {
  const q = input(node, 0, 'q');
  const table = input(node, 1, 'table');
  const dtype = integerType(node, q, types, ['int8', 'int16'], 'q');
  integerType(node, table, types, ['int8', 'int16'], 'the table');
  const offset = emit.constant('offset', Tensor.fromArray(Int32Array.of(-INTEGER_RANGE[dtype as NarrowDtype].min), []));
  const index = emit.op('Add', [emit.cast(q, DataType.INT32), offset]);
  emit.op('Gather', [table, index], { axis: 0 }, output);
}

/** Dims of `count` per-channel values along `axis` of `value` (a scalar for one value); needs the value's rank. */
function perChannelDims(node: Node, value: Value, count: number, axis: number, ranks: Map<Value, number>): number[] {
  if (count === 1) return [];
  const rank = ranks.get(value);
  if (rank === undefined) throw lowerError(node, 'its per-channel parameters need the rank of its input', "Declare the input's shape.");
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw lowerError(node, `axis ${axis} is outside a rank-${rank} tensor`);
  return channelDims(count, rank, a);
}

/** One Epilogue step as standard ops (case 7b); `dims` shapes a per-channel parameter list. */
function emitEpilogueStep(emit: Emitter, node: Node, step: EpilogueStep, x: Value, dims: (count: number) => number[]): Value {
  const clip01 = (v: Value) => emit.op('Clip', [v, emit.f32('zero', 0), emit.f32('one', 1)]);
  const inDouble = (f: (xd: Value) => Value) => emit.cast(f(emit.cast(x, DataType.DOUBLE)), DataType.FLOAT);
  switch (step.op) {
    case 'Relu':
      return emit.op('Relu', [x]);
    case 'Clip':
      return emit.op('Clip', [x, emit.f32('min', step.min), emit.f32('max', step.max)]);
    case 'HardSigmoid':
      return clip01(emit.op('Add', [emit.op('Mul', [x, emit.f32('alpha', step.alpha)]), emit.f32('beta', step.beta)]));
    case 'HardSwish':
      return emit.op('Mul', [x, clip01(emit.op('Add', [emit.op('Mul', [x, emit.f32('alpha', HARD_SWISH_ALPHA)]), emit.f32('half', 0.5)]))]);
    case 'LeakyRelu':
      return emit.op('Add', [emit.op('Relu', [x]), emit.op('Mul', [emit.op('Min', [x, emit.f32('zero', 0)]), emit.f32('alpha', step.alpha)])]);
    case 'ScaleShift': {
      const parameter = (index: number, label: string) => {
        const tensor = node.inputs[index]?.constValue;
        if (!tensor) throw lowerError(node, `its ScaleShift ${label} (input ${index}) is not a constant`);
        const data = tensor.toFloat32();
        return emit.constant(label, Tensor.fromArray(Float32Array.from(data), dims(data.length)));
      };
      return emit.op('Add', [emit.op('Mul', [x, parameter(step.input, 'scale')]), parameter(step.input + 1, 'shift')]);
    }
    case 'Sigmoid':
      return inDouble((xd) => emit.op('Sigmoid', [xd]));
    case 'Tanh':
      return inDouble((xd) => emit.op('Tanh', [xd]));
    case 'SiLU':
      return inDouble((xd) => emit.op('Mul', [xd, emit.op('Sigmoid', [xd])]));
    case 'GeluTanh':
      return inDouble((xd) => {
        let u = emit.op('Mul', [emit.op('Mul', [xd, xd]), xd]);
        u = emit.op('Add', [emit.op('Mul', [u, emit.f64('c', 0.044715)]), xd]);
        const t = emit.op('Tanh', [emit.op('Mul', [u, emit.f64('sqrt_2_over_pi', SQRT_2_OVER_PI)])]);
        return emit.op('Mul', [emit.op('Mul', [emit.op('Add', [t, emit.f64('one', 1)]), xd]), emit.f64('half', 0.5)]);
      });
  }
}

/** Case 7b. */
function lowerEpilogue(emit: Emitter, node: Node, output: Value, context: LoweringContext): void {
  const attrs = epilogueAttrs(node);
  const acc = input(node, 0, 'acc');
  integerType(node, acc, context.types, ['int32'], 'acc');
  const dims = (count: number) => perChannelDims(node, acc, count, attrs.axis, context.ranks);
  const dequantizeAttributes: Record<string, number> = attrs.accScale.length > 1 ? { axis: attrs.axis } : {};
  let x = emit.op('DequantizeLinear', [acc, emit.constant('acc_scale', scaleTensor(attrs.accScale))], dequantizeAttributes);
  for (const step of attrs.steps) x = emitEpilogueStep(emit, node, step, x, dims);
  const zeroPoint = emit.constant(
    'zero_point',
    attrs.outDtype === 'int8' ? Tensor.fromArray(Int8Array.of(0), []) : Tensor.fromArray(Int16Array.of(0), []),
  );
  const range = INTEGER_RANGE[attrs.outDtype];
  const { lo, hi } = attrs.bounds;
  if (lo === range.min && hi === range.max) {
    emit.op('QuantizeLinear', [x, emit.f32('out_scale', attrs.outScale), zeroPoint], {}, output);
    return;
  }
  const q = emit.cast(emit.op('QuantizeLinear', [x, emit.f32('out_scale', attrs.outScale), zeroPoint]), DataType.FLOAT);
  emit.cast(emit.op('Clip', [q, emit.f32('lo', lo), emit.f32('hi', hi)]), ONNX_INTEGER[attrs.outDtype], output);
}

/** Case 7c. */
function lowerScaleShift(emit: Emitter, node: Node, output: Value, context: LoweringContext): void {
  const attrs = scaleShiftAttrs(node);
  const q = input(node, 0, 'q');
  integerType(node, q, context.types, ['int8', 'int16'], 'q');
  const dims = perChannelDims(node, q, attrs.multiplier.length, attrs.axis, context.ranks);
  const f64s = (label: string, values: readonly number[]) => emit.constant(label, Tensor.fromArray(Float64Array.from(values), dims));
  const product = emit.op('Mul', [emit.cast(q, DataType.DOUBLE), f64s('multiplier', attrs.multiplier)]);
  const sum = emit.op('Add', [product, f64s('offset', attrs.offset)]);
  const y = emit.op('Floor', [emit.op('Mul', [sum, f64s('inverse_shift', attrs.shift.map((s) => 2 ** -s))])]);
  const range = INTEGER_RANGE[attrs.outDtype];
  emit.cast(emit.op('Clip', [y, emit.f64('min', range.min), emit.f64('max', range.max)]), ONNX_INTEGER[attrs.outDtype], output);
}

/** Case 8: runs a pass-through op in a float carrier where onnxruntime has no integer kernel. */
function castAroundGap(graph: Graph, node: Node, types: Map<Value, number>): void {
  const data = node.inputs[0];
  const elemType = data ? types.get(data) : undefined;
  const dtype = elemType === undefined ? undefined : INTEGER_OF_ONNX.get(elemType);
  if (!dtype) return;
  const carrier = ORT_INTEGER_GAPS[node.opType]?.[dtype];
  if (!carrier) return;
  if (carrier === 'none') {
    throw lowerError(node, `onnxruntime has no ${node.opType} for ${dtype} and no exact float type to run it in`);
  }
  const emit = new Emitter(graph, node);
  const carrierType = carrier === 'float32' ? DataType.FLOAT : DataType.DOUBLE;
  for (const index of ORT_GAP_DATA_INPUTS[node.opType] ?? [0]) {
    const value = node.inputs[index];
    if (value && value.name !== '') node.setInput(index, emit.cast(value, carrierType));
  }
  const output = node.outputs[0]!;
  const carried = new Value(graph.uniqueName(`${output.name}_${carrier}`));
  node.replaceOutput(0, carried);
  const cast = new Node({
    opType: 'Cast',
    name: graph.uniqueName(`${node.name || node.opType}/Cast_back`),
    inputs: [carried],
    outputs: [output],
    attributes: { to: ONNX_INTEGER[dtype] },
  });
  graph.insertAfter(node, cast);
}

/** The named attributes of `node` that it has, as plain values for a new standard op (the geometry of a conv). */
function plainAttributes(node: Node, names: readonly string[]): Record<string, number | number[] | string> {
  const out: Record<string, number | number[] | string> = {};
  for (const name of names) {
    const attribute = node.attribute(name);
    if (!attribute) continue;
    out[name] =
      attribute.type === AttributeType.STRING
        ? attribute.asString()
        : attribute.type === AttributeType.INT
          ? attribute.asNumber()
          : attribute.asNumbers();
  }
  return out;
}
