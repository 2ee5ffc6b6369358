import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorElemType, tensorShape } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { constantSource } from './constant-source.js';

/**
 * Reading QDQ models, quantkit's or another tool's (onnxruntime's quantize_static, PyTorch's exporter, …): the
 * QuantizeLinear / DequantizeLinear nodes, their scales, zero points, axes and integer types. Only symmetric
 * quantization (zero point 0) is accepted unless a caller asks otherwise.
 */

/** Domains whose QuantizeLinear / DequantizeLinear have the standard meaning (com.microsoft: ORT's int16 ops). */
const QDQ_DOMAINS = new Set(['', 'ai.onnx', 'com.microsoft']);

export function isQuantizeLinear(node: Node | undefined): node is Node {
  return node !== undefined && node.opType === 'QuantizeLinear' && QDQ_DOMAINS.has(node.domain);
}

export function isDequantizeLinear(node: Node | undefined): node is Node {
  return node !== undefined && node.opType === 'DequantizeLinear' && QDQ_DOMAINS.has(node.domain);
}

/** The quantization parameters of one QuantizeLinear or DequantizeLinear node. */
export interface QdqParams {
  /** ONNX DataType of the integer side: INT8, INT16, INT32, UINT8, … */
  readonly dtype: number;
  /** One scale (per tensor) or one per channel along `axis`, as float32. */
  readonly scale: Float32Array;
  /** The zero points, one per scale (all 0 unless `allowAsymmetric`). */
  readonly zeroPoint: readonly number[];
  /**
   * The channel axis for per-axis quantization (non-negative when the tensor's rank is known), undefined per tensor.
   * A one-element scale counts as per tensor, as onnxruntime treats it.
   */
  readonly axis: number | undefined;
}

export interface ReadQdqOptions {
  /** Return non-zero zero points instead of refusing them (for tools that only inspect). */
  allowAsymmetric?: boolean;
}

/**
 * The scale, zero point, axis and integer type of a QuantizeLinear / DequantizeLinear node. Scale and zero point
 * must be constants (initializers or Constant nodes, possibly behind Identity). Throws QK_ASYMMETRIC_QDQ for a
 * non-zero zero point, QK_UNSUPPORTED for run-time scales and blocked quantization.
 */
export function readQdqParams(node: Node, options: ReadQdqOptions = {}): QdqParams {
  const quantize = node.opType === 'QuantizeLinear';
  if (!isQuantizeLinear(node) && !isDequantizeLinear(node)) {
    throw new QuantkitError('QK_IR_MISUSE', `${describe(node)} is not a QuantizeLinear or DequantizeLinear node.`);
  }
  const blockSize = node.attribute('block_size')?.asNumber() ?? 0;
  if (blockSize !== 0) {
    throw unsupported(node, `uses blocked quantization (block_size ${blockSize}), which quantkit does not convert`);
  }
  const scaleTensor = constantSource(node.inputs[1])?.tensor;
  if (!scaleTensor) throw unsupported(node, 'computes its scale at run time; quantkit needs a constant scale');
  const scale = scaleTensor.toFloat32();
  const zeroPointValue = node.inputs[2];
  const zeroPointTensor = zeroPointValue ? constantSource(zeroPointValue)?.tensor : undefined;
  if (zeroPointValue && !zeroPointTensor) {
    throw unsupported(node, 'computes its zero point at run time; quantkit needs a constant zero point');
  }
  const dtype = quantize ? quantizedType(node, zeroPointTensor) : dequantizedType(node, zeroPointTensor, options);
  const zeroPoint = zeroPointTensor ? numbers(zeroPointTensor) : Array.from(scale, () => 0);
  if (zeroPoint.length !== scale.length) {
    throw unsupported(node, `has ${scale.length} scales but ${zeroPoint.length} zero points`);
  }
  if (!(options.allowAsymmetric ?? false)) {
    const at = zeroPoint.findIndex((z) => z !== 0);
    if (at >= 0) {
      const tensor = node.inputs[0]?.name ?? '(none)';
      throw new QuantkitError(
        'QK_ASYMMETRIC_QDQ',
        `${node.describe()} on tensor ${tensor} has zero point ${zeroPoint[at]} (${dtypeName(dtype)}${
          scale.length > 1 ? `, channel ${at}` : ''
        }): ` + 'quantkit converts symmetric quantization only (zero point 0).',
        {
          subject: node.name || tensor,
          hint: 'Quantize the model symmetrically (e.g. onnxruntime quantize_static with ActivationSymmetric and WeightSymmetric, signed int8 / int16), or let quantkit calibrate the float model.',
        },
      );
    }
  }
  const perTensor = scale.length === 1;
  return { dtype, scale, zeroPoint, axis: perTensor ? undefined : channelAxis(node) };
}

/** One QuantizeLinear followed by one DequantizeLinear that reads its output: a fake-quantized activation. */
export interface QdqPair {
  readonly quantize: Node;
  readonly dequantize: Node;
  /** The float tensor that is quantized. */
  readonly input: Value;
  /** The integer tensor between the two nodes. */
  readonly quantized: Value;
  /** The float tensor the DequantizeLinear emits. */
  readonly output: Value;
  readonly quantizeParams: QdqParams;
  /** Normally equal to `quantizeParams`; a tool may dequantize with other parameters. */
  readonly dequantizeParams: QdqParams;
}

/** What a float tensor read by some op is, if a DequantizeLinear produces it. */
export type DequantizedValue =
  | {
      /** A fake-quantized activation: DequantizeLinear(QuantizeLinear(x)). */
      readonly kind: 'activation';
      readonly dequantize: Node;
      readonly params: QdqParams;
      readonly quantize: Node;
      readonly quantizeParams: QdqParams;
      /** The float tensor x that was quantized. */
      readonly source: Value;
      readonly quantized: Value;
    }
  | {
      /** A constant stored as integers: weights (int8) and biases (int32). */
      readonly kind: 'constant';
      readonly dequantize: Node;
      readonly params: QdqParams;
      readonly tensor: Tensor;
      /** The initializer (or Constant output) holding the integers. */
      readonly quantized: Value;
    }
  | {
      /** Integers from elsewhere: an integer graph input, or an op that computes integers. */
      readonly kind: 'integer';
      readonly dequantize: Node;
      readonly params: QdqParams;
      readonly quantized: Value;
    };

/** How `value` was dequantized, or undefined when no DequantizeLinear produces it. */
export function dequantizedValue(value: Value | undefined, options: ReadQdqOptions = {}): DequantizedValue | undefined {
  const dequantize = value?.producer();
  if (!isDequantizeLinear(dequantize)) return undefined;
  const params = readQdqParams(dequantize, options);
  const quantized = dequantize.inputs[0]!;
  const quantize = quantized.producer();
  if (isQuantizeLinear(quantize)) {
    const source = quantize.inputs[0]!;
    return {
      kind: 'activation',
      dequantize,
      params,
      quantize,
      quantizeParams: readQdqParams(quantize, options),
      source,
      quantized,
    };
  }
  const constant = constantSource(quantized);
  if (constant) return { kind: 'constant', dequantize, params, tensor: constant.tensor, quantized: constant.value };
  return { kind: 'integer', dequantize, params, quantized };
}

/** Every QuantizeLinear → DequantizeLinear pair of a graph (not its subgraphs), in graph order. */
export function findQdqPairs(graph: Graph, options: ReadQdqOptions = {}): QdqPair[] {
  const pairs: QdqPair[] = [];
  for (const quantize of graph) {
    if (!isQuantizeLinear(quantize)) continue;
    const quantized = quantize.outputs[0]!;
    const dequantizers = quantized
      .uses()
      .map((use) => use.node)
      .filter((node) => isDequantizeLinear(node) && node.inputs[0] === quantized);
    if (dequantizers.length === 0) continue;
    const quantizeParams = readQdqParams(quantize, options);
    for (const dequantize of [...new Set(dequantizers)].sort((a, b) => graph.indexOf(a) - graph.indexOf(b))) {
      pairs.push({
        quantize,
        dequantize,
        input: quantize.inputs[0]!,
        quantized,
        output: dequantize.outputs[0]!,
        quantizeParams,
        dequantizeParams: readQdqParams(dequantize, options),
      });
    }
  }
  return pairs;
}

/**
 * Checks every QuantizeLinear / DequantizeLinear of the model, subgraphs included: constant scales, no blocked
 * quantization, zero point 0. Throws QK_ASYMMETRIC_QDQ naming the first asymmetric node. Returns how many Q/DQ
 * nodes it read.
 */
export function assertSymmetricQdq(model: Model): number {
  let count = 0;
  for (const node of model.graph.allNodes()) {
    if (isQuantizeLinear(node) || isDequantizeLinear(node)) {
      readQdqParams(node);
      count++;
    }
  }
  return count;
}

/** node.describe() for readQdqParams' refusal, where the `node is Node` type guards have narrowed `node` to never. */
function describe(node: Node): string {
  return node.describe();
}

function unsupported(node: Node, what: string): QuantkitError {
  return new QuantkitError('QK_UNSUPPORTED', `${node.describe()} ${what}.`, { subject: node.name || node.opType });
}

/** QuantizeLinear's output type: its zero point's, else `output_dtype` (opset 21), else uint8. */
function quantizedType(node: Node, zeroPoint: Tensor | undefined): number {
  if (zeroPoint) return zeroPoint.dtype;
  const declared = node.attribute('output_dtype')?.asNumber() ?? 0;
  return declared !== 0 ? declared : DataType.UINT8;
}

/** DequantizeLinear's input type: its zero point's, else the input's (a constant, a declared type, or a Q's). */
function dequantizedType(node: Node, zeroPoint: Tensor | undefined, options: ReadQdqOptions): number {
  if (zeroPoint) return zeroPoint.dtype;
  const input = node.inputs[0];
  const known = constantSource(input)?.tensor.dtype ?? tensorElemType(input?.type);
  if (known !== undefined) return known;
  const producer = input?.producer();
  if (isQuantizeLinear(producer)) return readQdqParams(producer, options).dtype;
  throw unsupported(
    node,
    `reads ${input?.name ?? '(none)'}, whose integer type quantkit cannot tell; give it a zero point`,
  );
}

/** The `axis` attribute (default 1), made non-negative when the rank of the quantized tensor is known. */
function channelAxis(node: Node): number {
  const axis = node.attribute('axis')?.asNumber() ?? 1;
  if (axis >= 0) return axis;
  const input = node.inputs[0];
  const rank = constantSource(input)?.tensor.dims.length ?? tensorShape(input?.type)?.length;
  return rank === undefined ? axis : axis + rank;
}

function numbers(tensor: Tensor): number[] {
  const data = tensor.toArray();
  return Array.from(data as ArrayLike<number | bigint>, Number);
}
