import type { NpyArray } from '../../data/npy.js';
import { Attribute } from '../../ir/attribute.js';
import type { GraphBuilder } from '../../ir/builder.js';
import { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import type { NarrowDtype, Unit } from '../../integer/integer-ops.js';
import { dequantizeAttributes, quantizeAttributes, rescaleAttributes, type RescaleInit } from '../integer-nodes.js';
import { ints } from './qdq-graphs.js';

/** Integer-IR graphs written directly, for the passes that run after lowerQdq. */

export function quantize(b: GraphBuilder, x: Value, scale: number, dtype: NarrowDtype = 'int8', name?: string, unit: Unit = 'bpu'): Value {
  const attributes = Object.fromEntries(quantizeAttributes({ scale, dtype, unit }).map((a) => [a.name, a]));
  return b.node('Quantize', [x], { domain: 'quantkit', name, attributes })[0]!;
}

export function dequantize(b: GraphBuilder, q: Value, scale: number[], axis?: number, name?: string): Value {
  const attributes = Object.fromEntries(dequantizeAttributes({ scale, axis, unit: 'bpu' }).map((a) => [a.name, a]));
  return b.node('Dequantize', [q], { domain: 'quantkit', name, attributes })[0]!;
}

export function rescale(b: GraphBuilder, acc: Value, init: RescaleInit, name?: string): Value {
  const attributes = Object.fromEntries(rescaleAttributes(init).map((a) => [a.name, a]));
  return b.node('Rescale', [acc], { domain: 'quantkit', name, attributes })[0]!;
}

/** quantkit::MatMul of an integer x [.., K] with an int8 weight [K, N] and an int32 bias: int32 out. */
export function integerMatMul(
  b: GraphBuilder,
  x: Value,
  k: number,
  n: number,
  xScale: number,
  options: { name?: string; relu?: boolean; outDtype?: string } = {},
): { acc: Value; wScale: number[] } {
  const wScale = Array.from({ length: n }, (_, c) => 0.01 + 0.002 * c);
  const w = b.initializer(`${options.name ?? 'mm'}.w`, Tensor.fromArray(ints(Int8Array, k * n, 127, 3), [k, n]));
  const bias = b.initializer(`${options.name ?? 'mm'}.b`, Tensor.fromArray(ints(Int32Array, n, 3000, 5), [n]));
  const attributes: Record<string, Attribute> = {
    out_dtype: Attribute.string('out_dtype', options.outDtype ?? 'int32'),
    x_scale: Attribute.float('x_scale', xScale),
    w_scale: Attribute.floats('w_scale', wScale),
  };
  if (options.relu) attributes.relu = Attribute.int('relu', 1);
  const [acc] = b.node('MatMul', [x, w, bias], { domain: 'quantkit', name: options.name ?? 'mm', attributes });
  return { acc: acc!, wScale };
}

/** A float32 feed with values spread over ±amp. */
export function floatFeed(name: string, shape: number[], amp: number, seed = 11): Map<string, NpyArray> {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = ((s / 2147483648) * 2 - 1) * amp;
  }
  return new Map([[name, { dtype: 'float32', shape, data }]]);
}
