import { constantTensor, DataType, tensorShape, type Value } from '@quantkit/core';

/** The float data of a constant, with its dims. */
export interface FloatConstant {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * The float data behind `value` when it is known without running the model: an initializer or a Constant node
 * (through Identity, as core's constantTensor reads them), or a Cast to float / double of one of those — the
 * way exporters without constant folding spell Clip bounds. Undefined for anything computed from the inputs.
 */
export function floatConstant(value: Value | undefined): FloatConstant | undefined {
  const direct = constantTensor(value);
  if (direct) {
    if (direct.dtype !== DataType.FLOAT && direct.dtype !== DataType.DOUBLE) return undefined;
    return { data: direct.toFloat32(), dims: direct.dims };
  }
  const producer = value?.producer();
  if (!producer || producer.opType !== 'Cast' || (producer.domain !== '' && producer.domain !== 'ai.onnx')) return undefined;
  const to = producer.attribute('to')?.asNumber();
  if (to !== DataType.FLOAT && to !== DataType.DOUBLE) return undefined;
  const source = constantTensor(producer.input(0));
  if (!source || source.dtype === DataType.STRING || source.dtype === DataType.BOOL) return undefined;
  return { data: source.toFloat32(), dims: source.dims };
}

/** The number behind a constant that holds one element (of any rank), else undefined. */
export function scalarConstant(value: Value | undefined): number | undefined {
  const constant = floatConstant(value);
  return constant && constant.data.length === 1 ? constant.data[0] : undefined;
}

/** Whether `a` equals `b` within a tight relative tolerance (matched pattern constants, exported as float32). */
export function near(a: number | undefined, b: number, tolerance = 1e-6): boolean {
  return a !== undefined && Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));
}

/**
 * The per-channel vector of a constant that broadcasts against a tensor of rank `rank` only along `axis`:
 * its dims, aligned to the right, are 1 everywhere but at `axis`. A one-element constant gives a vector of
 * length 1 (the same value for every channel). Undefined when the constant varies along another axis or has
 * a higher rank than the tensor (which would change the result's shape).
 */
export function channelVector(constant: FloatConstant, rank: number, axis: number): Float32Array | undefined {
  const { dims, data } = constant;
  if (dims.length > rank) return undefined;
  const at = axis < 0 ? axis + rank : axis;
  for (let i = 0; i < dims.length; i++) {
    const tensorAxis = rank - dims.length + i;
    if (tensorAxis !== at && dims[i] !== 1) return undefined;
  }
  return data;
}

/** A per-channel vector expanded to `channels` entries (a one-element vector repeats), or undefined. */
export function expandChannels(vector: Float32Array, channels: number): Float32Array | undefined {
  if (vector.length === channels) return vector;
  if (vector.length !== 1) return undefined;
  return new Float32Array(channels).fill(vector[0]!);
}

const SAME_RANK_OPS = new Set([
  'Relu', 'Clip', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Gelu', 'Erf', 'Abs', 'Neg',
  'BatchNormalization', 'Identity', 'Dropout', 'Cast', 'Softmax', 'LayerNormalization', 'Sqrt', 'Exp',
]);
const BROADCAST_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);

/**
 * The rank of `value` when it is known: from its type, or derived through the ops whose output rank follows
 * from their inputs (Conv-like ops keep the weight's rank, elementwise ops the largest input rank).
 */
export function rankOf(value: Value | undefined, depth = 0): number | undefined {
  if (!value || depth > 64) return undefined;
  const shape = tensorShape(value.type);
  if (shape) return shape.length;
  const constant = constantTensor(value);
  if (constant) return constant.dims.length;
  const node = value.producer();
  if (!node || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
  if (['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Resize'].includes(node.opType)) {
    if (node.opType === 'Conv' || node.opType === 'ConvTranspose') return constantTensor(node.input(1))?.dims.length;
    return rankOf(node.input(0), depth + 1);
  }
  if (node.opType === 'Gemm') return 2;
  if (SAME_RANK_OPS.has(node.opType)) return rankOf(node.input(0), depth + 1);
  if (BROADCAST_OPS.has(node.opType)) {
    const ranks = node.inputs.map((input) => rankOf(input, depth + 1));
    if (ranks.some((r) => r === undefined)) return undefined;
    return Math.max(...(ranks as number[]));
  }
  return undefined;
}
