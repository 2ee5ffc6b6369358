import { DataType, dtypeName } from '../ir/dtype.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { constantSource } from '../qdq/constant-source.js';
import { dequantizedValue, isQuantizeLinear, readQdqParams } from '../qdq/read-qdq.js';
import { DOUBLE_INT16_ACC_SHIFT, type NarrowDtype } from '../integer/integer-ops.js';
import type { IntegerGemmOp } from './integer-nodes.js';

/**
 * The QDQ pattern of one GEMM-like op that convert turns into a quantkit Conv / Gemm / MatMul:
 *
 *   DQ(q_x) ─┐
 *   DQ(w_q) ─┼─ Conv / Gemm / MatMul ─ [Add(DQ(b_q))] ─ [Relu | Clip → Q]
 *   DQ(b_q) ─┘
 *
 * (ConvTranspose likewise: its weight [C, M / group, k…] is quantized along axis 1, per tensor when grouped.)
 *
 * - input 0 is the DequantizeLinear of an int8 / int16 activation, per tensor;
 * - the weight is the DequantizeLinear of a constant int8 or int16 tensor, per tensor or per output channel (Conv axis 0,
 *   Gemm transB = 1 axis 0 / transB = 0 axis 1, MatMul [K, N] axis 1); a MatMul may instead take a second
 *   activation (attention's Q·Kᵀ);
 * - the bias is Conv's input 2 / Gemm's C, or for MatMul (and Gemm without C) an Add of a constant in either
 *   operand order; it is an int32 DequantizeLinear or a float constant, one value per output channel (or one);
 * - a Relu that is the only reader fuses (relu = 1); a Clip with constant bounds that is the only reader and is
 *   read only by a QuantizeLinear fuses into the requantization (clip_min / clip_max in the output's integers).
 * Anything else does not match, and `matchGemm` says why in words for the fallback list.
 */
export interface GemmMatch {
  readonly node: Node;
  readonly op: IntegerGemmOp;
  /** The integer activation the op reads (the QuantizeLinear output behind input 0). */
  readonly x: Value;
  readonly xScale: number;
  /** The int8 / int16 weight initializer, or the second integer activation of an activation × activation MatMul. */
  readonly w: Value;
  /** The acc_shift of the integer GEMM: DOUBLE_INT16_ACC_SHIFT for an int16 x with an int16 constant weight, else 0. */
  readonly accShift: number;
  /** One weight scale per output channel, or one. */
  readonly wScale: Float32Array;
  /** The output channel count, when the weight is a constant. */
  readonly channels: number | undefined;
  readonly bias: BiasSource | undefined;
  readonly biasAdd: Node | undefined;
  readonly relu: Node | undefined;
  readonly clip: ClipFold | undefined;
  /** The last node of the group: its output is the group's float output. */
  readonly last: Node;
  /** Every node of the group except `last`'s QuantizeLinear, in graph order. */
  readonly nodes: readonly Node[];
}

export interface BiasSource {
  /** The constant holding the bias (an int32 initializer behind a DequantizeLinear, or float data). */
  readonly value: Value;
  readonly tensor: Tensor;
  /** The DequantizeLinear scales of an int32 bias (one, or one per channel); undefined for a float bias. */
  readonly scale: Float32Array | undefined;
}

export interface ClipFold {
  readonly node: Node;
  readonly min: number | undefined;
  readonly max: number | undefined;
  /** The QuantizeLinear that reads the Clip's output. */
  readonly quantize: Node;
  readonly scale: number;
  readonly dtype: NarrowDtype;
}

const NARROW: Record<number, NarrowDtype> = { [DataType.INT8]: 'int8', [DataType.INT16]: 'int16' };

/** The match, or why the node does not match (a sentence fragment for the fallback list). */
export function matchGemm(node: Node): GemmMatch | string {
  const op = node.opType;
  if (op !== 'Conv' && op !== 'ConvTranspose' && op !== 'Gemm' && op !== 'MatMul') return `${op} is not GEMM-like`;
  if (node.subgraphs().length > 0) return 'it holds a subgraph';

  const x = activationInput(node, 0);
  if (typeof x === 'string') return x;

  let w: Value;
  let wScale: Float32Array;
  let accShift = 0;
  let channels: number | undefined;
  /** A Conv's output rank (its weight's), which places an Add bias's channel dimension. */
  let convRank: number | undefined;
  const weight = dequantizedValue(node.inputs[1]);
  if (weight?.kind === 'constant') {
    if (weight.tensor.dtype !== DataType.INT8 && weight.tensor.dtype !== DataType.INT16) {
      return `its weight is ${dtypeName(weight.tensor.dtype)}; the integer IR takes int8 / int16 weights`;
    }
    if (weight.tensor.dtype === DataType.INT16 && x.dtype === 'int16') accShift = DOUBLE_INT16_ACC_SHIFT;
    const expected = weightAxis(node);
    if (typeof expected === 'string') return expected;
    const dims = weight.tensor.dims;
    if (op === 'MatMul' && dims.length !== 2) return `its constant operand has rank ${dims.length}, not 2`;
    if ((op === 'Conv' || op === 'ConvTranspose') && dims.length < 3) return `its weight has rank ${dims.length}`;
    const { axis, scale } = weight.params;
    if (axis !== undefined && axis !== expected) {
      return `its weight is quantized along axis ${axis}, not the output channel axis ${expected}`;
    }
    channels = dims[expected];
    if (op === 'ConvTranspose') {
      // The weight holds M / group output channels per group; its per-axis scales index them within a group.
      const group = node.attribute('group')?.asNumber() ?? 1;
      if (group !== 1 && scale.length !== 1) return `its weight is grouped (group ${group}) and quantized per channel`;
      if (channels !== undefined) channels *= group;
    }
    if (op === 'Conv' || op === 'ConvTranspose') convRank = dims.length;
    if (channels === undefined || (scale.length !== 1 && scale.length !== channels)) {
      return `its weight has ${scale.length} scales for ${channels ?? 'unknown'} output channels`;
    }
    w = weight.quantized;
    wScale = scale;
  } else if (op === 'MatMul') {
    const second = activationInput(node, 1);
    if (typeof second === 'string') {
      return weight ? second : 'its second operand is float (not a DequantizeLinear of int8 weights or an activation)';
    }
    w = second.value;
    wScale = new Float32Array([second.scale]);
  } else {
    return weight
      ? 'its weight is computed at run time, not a constant int8 tensor'
      : 'its weight is float (no DequantizeLinear of int8 weights)';
  }

  if (op === 'Gemm') {
    const alpha = node.attribute('alpha')?.asNumber() ?? 1;
    const beta = node.attribute('beta')?.asNumber() ?? 1;
    if (alpha !== 1 || beta !== 1) return `alpha ${alpha} / beta ${beta} are not 1`;
  }

  const nodes: Node[] = [node];
  let bias: BiasSource | undefined;
  let biasAdd: Node | undefined;
  let output = node.outputs[0]!;
  if (op !== 'MatMul' && node.inputs[2]) {
    const own = biasSource(node.inputs[2], channels);
    if (typeof own === 'string') return own;
    bias = own;
  } else if (channels !== undefined) {
    const add = soleReader(output, 'Add');
    const other = add ? add.inputs[add.inputs[0] === output ? 1 : 0] : undefined;
    const candidate =
      add && other && add.inputs.length === 2 && isConstantBias(other) ? biasSource(other, channels, convRank) : undefined;
    if (add && candidate && typeof candidate !== 'string') {
      bias = candidate;
      biasAdd = add;
      nodes.push(add);
      output = add.outputs[0]!;
    }
  }

  let relu: Node | undefined;
  let clip: ClipFold | undefined;
  const reluNode = soleReader(output, 'Relu');
  if (reluNode) {
    relu = reluNode;
    nodes.push(reluNode);
  } else {
    const clipNode = soleReader(output, 'Clip');
    clip = clipNode ? clipFold(clipNode) : undefined;
    if (clip) nodes.push(clip.node);
  }
  return {
    node,
    op,
    x: x.value,
    xScale: x.scale,
    w,
    accShift,
    wScale,
    channels,
    bias,
    biasAdd,
    relu,
    clip,
    last: clip ? clip.quantize : nodes[nodes.length - 1]!,
    nodes,
  };
}

/** The output channel axis of the weight. */
function weightAxis(node: Node): number | string {
  switch (node.opType) {
    case 'Conv':
      return 0;
    case 'ConvTranspose':
      return 1;
    case 'Gemm':
      return (node.attribute('transB')?.asNumber() ?? 0) === 1 ? 0 : 1;
    default:
      return 1;
  }
}

/** The integer activation behind a DequantizeLinear input, per tensor, int8 / int16. */
function activationInput(node: Node, index: number): { value: Value; scale: number; dtype: NarrowDtype } | string {
  const read = dequantizedValue(node.inputs[index]);
  if (!read) return `its input ${index} is float (no DequantizeLinear before it)`;
  if (read.kind === 'constant') return `its input ${index} is a constant`;
  const dtype = NARROW[read.params.dtype];
  if (!dtype) return `its input ${index} is ${dtypeName(read.params.dtype)}; the integer IR takes int8 / int16`;
  if (read.params.scale.length !== 1) return `its input ${index} is quantized per channel`;
  return { value: read.quantized, scale: read.params.scale[0]!, dtype };
}

/** The only node reading `value`, when it is a standard `opType` node and `value` is not a graph output. */
function soleReader(value: Value, opType: string): Node | undefined {
  if (value.isGraphOutput()) return undefined;
  const uses = value.uses();
  if (uses.length !== 1) return undefined;
  const node = uses[0]!.node;
  return node.opType === opType && (node.domain === '' || node.domain === 'ai.onnx') ? node : undefined;
}

function isConstantBias(value: Value): boolean {
  const read = dequantizedValue(value);
  return read ? read.kind === 'constant' : constantSource(value) !== undefined;
}

/**
 * An int32 DequantizeLinear constant or a float constant holding one value per output channel (or one), with
 * every other dimension 1. The channel dimension is the last, or for an Add after a Conv of output rank `convRank`
 * the one that broadcasts onto axis 1 (`[C, 1, 1]`, `[1, C, 1, 1]`): a `[C]` there would add along the width.
 */
function biasSource(value: Value, channels: number | undefined, convRank?: number): BiasSource | string {
  const read = dequantizedValue(value);
  let source: { value: Value; tensor: Tensor; scale: Float32Array | undefined };
  if (read) {
    if (read.kind !== 'constant') return 'its bias is computed at run time';
    if (read.tensor.dtype !== DataType.INT32) return `its bias is ${dtypeName(read.tensor.dtype)}, not int32`;
    source = { value: read.quantized, tensor: read.tensor, scale: read.params.scale };
  } else {
    const constant = constantSource(value);
    if (!constant) return 'its bias is computed at run time';
    if (constant.tensor.dtype !== DataType.FLOAT) return `its bias is ${dtypeName(constant.tensor.dtype)}`;
    source = { value: constant.value, tensor: constant.tensor, scale: undefined };
  }
  const dims = source.tensor.dims;
  const size = source.tensor.size;
  const channelDim = convRank === undefined ? dims.length - 1 : 1 - (convRank - dims.length);
  const fitsOutput = convRank === undefined || dims.length <= convRank;
  const along = fitsOutput && (size === 1 || (channelDim >= 0 && dims[channelDim] === size));
  if (!along || (size !== 1 && channels !== undefined && size !== channels) || (size !== 1 && channels === undefined)) {
    return `its bias has shape [${dims.join(', ')}], not one value per output channel`;
  }
  if (source.scale && source.scale.length !== 1 && source.scale.length !== size) {
    return `its bias has ${source.scale.length} scales for ${size} values`;
  }
  return source;
}

/** A Clip with constant bounds whose only reader is an int8 / int16 QuantizeLinear (per tensor). */
function clipFold(clip: Node): ClipFold | undefined {
  const bound = (index: number): number | undefined | null => {
    const input = clip.inputs[index];
    if (!input || input.name === '') return undefined;
    const tensor = constantSource(input)?.tensor;
    return tensor && tensor.size === 1 ? tensor.toFloat32()[0]! : null;
  };
  const min = bound(1);
  const max = bound(2);
  if (min === null || max === null) return undefined;
  const out = clip.outputs[0]!;
  if (out.isGraphOutput() || out.useCount !== 1) return undefined;
  const quantize = out.uses()[0]!.node;
  if (!isQuantizeLinear(quantize) || quantize.inputs[0] !== out) return undefined;
  const params = readQdqParams(quantize);
  const dtype = NARROW[params.dtype];
  if (!dtype || params.scale.length !== 1) return undefined;
  return { node: clip, min, max, quantize, scale: params.scale[0]!, dtype };
}
