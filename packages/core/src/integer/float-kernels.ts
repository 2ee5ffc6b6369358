import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Node } from '../ir/node.js';
import { broadcastIndices, broadcastShapes, normalizeAxis, sizeOf } from './ndarray.js';
import { floatAttr, intAttr } from './node-attrs.js';
import { resizeKernel } from './resize-kernel.js';

/**
 * Float kernels for VPU islands and CPU fallbacks (opset 21 semantics, float32 tensors). Each op computes in
 * float64 and rounds its outputs to float32. For Add / Sub / Mul / Div / Relu / Clip that is exactly float32
 * arithmetic (one correctly rounded operation); for LayerNormalization, Softmax, Sigmoid, Tanh and
 * GlobalAveragePool onnxruntime accumulates in float32 and approximates exp, so the two agree only to a few
 * float32 ulps.
 */

type FloatKernel = (node: Node, inputs: readonly (NpyArray | undefined)[]) => NpyArray;

function floatInput(node: Node, inputs: readonly (NpyArray | undefined)[], index: number): Float32Array {
  const array = inputs[index];
  if (!array || array.dtype !== 'float32') {
    throw new QuantkitError(
      'QK_GRAPH_INVALID',
      `Node ${node.describe()}: input ${index} must be a float32 tensor, got ${array ? array.dtype : 'nothing'}`,
      { subject: node.name, hint: 'Float ops read Dequantize outputs; integer tensors must be dequantized first.' },
    );
  }
  return array.data;
}

function shapeOf(inputs: readonly (NpyArray | undefined)[], index: number): number[] {
  return inputs[index]!.shape;
}

function unary(f: (x: number) => number): FloatKernel {
  return (node, inputs) => {
    const x = floatInput(node, inputs, 0);
    return { dtype: 'float32', shape: [...shapeOf(inputs, 0)], data: Float32Array.from(x, f) };
  };
}

function binary(f: (a: number, b: number) => number): FloatKernel {
  return (node, inputs) => {
    const a = floatInput(node, inputs, 0);
    const b = floatInput(node, inputs, 1);
    const shape = broadcastShapes(shapeOf(inputs, 0), shapeOf(inputs, 1));
    if (!shape) {
      throw new QuantkitError(
        'QK_TENSOR_DATA',
        `Node ${node.describe()}: shapes [${shapeOf(inputs, 0)}] and [${shapeOf(inputs, 1)}] do not broadcast`,
        { subject: node.name },
      );
    }
    const ia = broadcastIndices(shapeOf(inputs, 0), shape);
    const ib = broadcastIndices(shapeOf(inputs, 1), shape);
    const out = new Float32Array(sizeOf(shape));
    for (let i = 0; i < out.length; i++) out[i] = f(a[ia ? ia[i]! : i]!, b[ib ? ib[i]! : i]!);
    return { dtype: 'float32', shape, data: out };
  };
}

/** Visits the rows of `axis` (and, for `toEnd`, every axis after it) as contiguous or strided runs. */
function forEachRow(
  shape: readonly number[],
  axis: number,
  toEnd: boolean,
  visit: (offset: number, stride: number, length: number) => void,
): void {
  const outer = sizeOf(shape.slice(0, axis));
  if (toEnd) {
    const length = sizeOf(shape.slice(axis));
    for (let o = 0; o < outer; o++) visit(o * length, 1, length);
    return;
  }
  const length = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) visit(o * length * inner + i, inner, length);
}

const softmax: FloatKernel = (node, inputs) => {
  const x = floatInput(node, inputs, 0);
  const shape = shapeOf(inputs, 0);
  const axis = normalizeAxis(intAttr(node, 'axis', -1), shape.length, node);
  const out = new Float32Array(x.length);
  forEachRow(shape, axis, false, (offset, stride, length) => {
    let max = -Infinity;
    for (let i = 0; i < length; i++) max = Math.max(max, x[offset + i * stride]!);
    let sum = 0;
    for (let i = 0; i < length; i++) sum += Math.exp(x[offset + i * stride]! - max);
    for (let i = 0; i < length; i++) out[offset + i * stride] = Math.exp(x[offset + i * stride]! - max) / sum;
  });
  return { dtype: 'float32', shape: [...shape], data: out };
};

const layerNormalization: FloatKernel = (node, inputs) => {
  if (node.outputs.length > 1 && node.outputs.slice(1).some((value) => value.name !== '')) {
    throw new QuantkitError('QK_UNSUPPORTED', `Node ${node.describe()}: only the first output of LayerNormalization is supported`, {
      subject: node.name,
    });
  }
  const x = floatInput(node, inputs, 0);
  const scale = floatInput(node, inputs, 1);
  const bias = inputs[2] ? floatInput(node, inputs, 2) : undefined;
  const shape = shapeOf(inputs, 0);
  const axis = normalizeAxis(intAttr(node, 'axis', -1), shape.length, node);
  const epsilon = floatAttr(node, 'epsilon') ?? Math.fround(1e-5);
  const normShape = shape.slice(axis);
  const size = sizeOf(normShape);
  const scaleIndex = broadcastIndices(shapeOf(inputs, 1), normShape);
  const biasIndex = bias ? broadcastIndices(shapeOf(inputs, 2), normShape) : undefined;
  const out = new Float32Array(x.length);
  forEachRow(shape, axis, true, (offset) => {
    let mean = 0;
    for (let i = 0; i < size; i++) mean += x[offset + i]!;
    mean /= size;
    let variance = 0;
    for (let i = 0; i < size; i++) variance += (x[offset + i]! - mean) ** 2;
    variance /= size;
    const inv = 1 / Math.sqrt(variance + epsilon);
    for (let i = 0; i < size; i++) {
      const s = scale[scaleIndex ? scaleIndex[i]! : i]!;
      const b = bias ? bias[biasIndex ? biasIndex[i]! : i]! : 0;
      out[offset + i] = (x[offset + i]! - mean) * inv * s + b;
    }
  });
  return { dtype: 'float32', shape: [...shape], data: out };
};

const globalAveragePool: FloatKernel = (node, inputs) => {
  const x = floatInput(node, inputs, 0);
  const shape = shapeOf(inputs, 0);
  if (shape.length < 3) {
    throw new QuantkitError('QK_TENSOR_DATA', `Node ${node.describe()}: GlobalAveragePool needs [N, C, …], got [${shape}]`, {
      subject: node.name,
    });
  }
  const spatial = sizeOf(shape.slice(2));
  const out = new Float32Array(shape[0]! * shape[1]!);
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let j = 0; j < spatial; j++) sum += x[i * spatial + j]!;
    out[i] = sum / spatial;
  }
  return { dtype: 'float32', shape: [shape[0]!, shape[1]!, ...shape.slice(2).map(() => 1)], data: out };
};

const clip: FloatKernel = (node, inputs) => {
  const x = floatInput(node, inputs, 0);
  const lo = inputs[1] ? floatInput(node, inputs, 1)[0]! : -Infinity;
  const hi = inputs[2] ? floatInput(node, inputs, 2)[0]! : Infinity;
  return { dtype: 'float32', shape: [...shapeOf(inputs, 0)], data: Float32Array.from(x, (v) => Math.min(Math.max(v, lo), hi)) };
};

/** Float kernels by ONNX op type. */
export const FLOAT_KERNELS: Readonly<Record<string, FloatKernel>> = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b) => a / b),
  Relu: unary((x) => (x > 0 ? x : 0)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Tanh: unary(Math.tanh),
  Clip: clip,
  Softmax: softmax,
  LayerNormalization: layerNormalization,
  GlobalAveragePool: globalAveragePool,
  Resize: resizeKernel,
};
