import { GraphBuilder } from '../../ir/builder.js';
import { DataType } from '../../ir/dtype.js';
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';

/** Small QDQ graphs written by hand, in the form quantkit's exportQdq (or another tool) writes them. */

export type Act = 'int8' | 'int16';

const zeroPoint = (dtype: Act) => (dtype === 'int8' ? new Int8Array(1) : new Int16Array(1));

/** QuantizeLinear → DequantizeLinear of an activation (per tensor, zero point 0); returns the DQ output. */
export function qdq(b: GraphBuilder, x: Value, scale: number, dtype: Act = 'int8', name = x.name): Value {
  const s = b.initializer(`${name}_scale`, new Float32Array([scale]), []);
  const zp = b.initializer(`${name}_zero_point`, zeroPoint(dtype), []);
  const [q] = b.node('QuantizeLinear', [x, s, zp], { name: `${name}_QuantizeLinear`, outputs: [`${name}_quantized`] });
  const [dq] = b.node('DequantizeLinear', [q!, s, zp], { name: `${name}_DequantizeLinear`, outputs: [`${name}_dequantized`] });
  return dq!;
}

/** DequantizeLinear of a constant integer tensor (int8 weights, int32 biases), per axis when `scales` has more. */
export function constDq(
  b: GraphBuilder,
  name: string,
  data: Int8Array | Int32Array,
  dims: number[],
  scales: number[],
  axis?: number,
): Value {
  const q = b.initializer(`${name}_quantized`, Tensor.fromArray(data, dims));
  const scaleDims = scales.length > 1 ? [scales.length] : [];
  const s = b.initializer(`${name}_scale`, Tensor.fromArray(new Float32Array(scales), scaleDims));
  const zeros = data instanceof Int8Array ? new Int8Array(scales.length) : new Int32Array(scales.length);
  const zp = b.initializer(`${name}_zero_point`, Tensor.fromArray(zeros, scaleDims));
  const attributes: Record<string, number> = axis === undefined ? {} : { axis };
  const [dq] = b.node('DequantizeLinear', [q, s, zp], { name: `${name}_DequantizeLinear`, attributes });
  return dq!;
}

/** The accumulator's scale as exportQdq and convert compute it: float32(s_x · s_w) of the float32 scales. */
export function accScale(xScale: number, wScale: number): number {
  return Math.fround(Math.fround(xScale) * Math.fround(wScale));
}

/** Deterministic small integers in [−lim, lim]. */
export function ints<T extends Int8Array | Int32Array>(Ctor: new (n: number) => T, n: number, lim: number, seed = 1): T {
  const out = new Ctor(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s % (2 * lim + 1)) - lim;
  }
  return out;
}

export interface LinearOptions {
  name: string;
  k: number;
  n: number;
  xScale: number;
  wScales?: number[];
  /** Bias scales; defaults to float32(xScale · wScale[c]) of the float32 scales, as exportQdq writes them. */
  biasScales?: number[];
  bias?: boolean;
  /** Put the bias first in the Add (nn.Linear's export) or second. */
  biasFirst?: boolean;
}

/**
 * nn.Linear as exported for 3-D input: MatMul(x_dq, DQ(w int8 [K, N], axis 1)) → Add(DQ(b int32, axis 0), ·).
 * Returns the Add output (or the MatMul's without a bias) and the MatMul node.
 */
export function linear(b: GraphBuilder, xDq: Value, o: LinearOptions): { out: Value; matmul: Node } {
  const wScales = o.wScales ?? Array.from({ length: o.n }, (_, c) => 0.01 + 0.001 * c);
  const w = constDq(b, `${o.name}.w`, ints(Int8Array, o.k * o.n, 127, o.n), [o.k, o.n], wScales, 1);
  const [mm] = b.node('MatMul', [xDq, w], { name: `/${o.name}/MatMul` });
  const matmul = b.graph.nodes().find((n) => n.name === `/${o.name}/MatMul`)!;
  if (o.bias === false) return { out: mm!, matmul };
  const biasScales = o.biasScales ?? wScales.map((s) => accScale(o.xScale, s));
  const bias = constDq(b, `${o.name}.b`, ints(Int32Array, o.n, 5000, 7), [o.n], biasScales, 0);
  const inputs = (o.biasFirst ?? true) ? [bias, mm!] : [mm!, bias];
  const [out] = b.node('Add', inputs, { name: `/${o.name}/Add`, outputs: [`/${o.name}/Add_output_0`] });
  return { out: out!, matmul };
}

/**
 * The seed's SmallModel in QDQ form, shortened: input → linear2 → y → linear3 → z, with y also a graph output
 * (`reuse`, the seed's case 2) or not (`single`). In `reuse`, the graph output reads the float y and only linear3
 * reads y's Q/DQ copy, as reused-output-rescale exports it.
 */
export function seedQdq(form: 'single' | 'reuse', dtype: Act = 'int16'): Model {
  const b = new GraphBuilder('seed');
  const input = b.input('input', DataType.FLOAT, [2, 5, 8]);
  const xScale = dtype === 'int8' ? 0.02 : 0.0001;
  const x = qdq(b, input, xScale, dtype);
  const { out: y } = linear(b, x, { name: 'linear2', k: 8, n: 6, xScale });
  const yScale = dtype === 'int8' ? 0.05 : 0.0002;
  const yDq = qdq(b, y, yScale, dtype, 'y');
  const { out: z } = linear(b, yDq, { name: 'linear3', k: 6, n: 6, xScale: yScale });
  b.output(z, DataType.FLOAT);
  if (form === 'reuse') b.output(y, DataType.FLOAT);
  return b.model();
}

export function nodeNamed(model: Model, name: string): Node {
  const node = model.graph.nodes().find((n) => n.name === name);
  if (!node) throw new Error(`no node named ${name}`);
  return node;
}

/** `[domain::]OpType` of every node, in order. */
export function opSequence(model: Model): string[] {
  return model.graph.nodes().map((n) => (n.domain ? `${n.domain}::${n.opType}` : n.opType));
}

/** Every node as text with its attributes, for comparing whole graphs. */
export function graphText(model: Model): string[] {
  return model.graph.nodes().map((n) => {
    const attributes = [...n.attributes.values()].map((a) => `${a.name}=${JSON.stringify(a.value, (_, v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : v))}`);
    return `${n.domain}::${n.opType} ${n.name} (${n.inputs.map((v) => v?.name ?? '').join(', ')}) -> ${n.outputs.map((v) => v.name).join(', ')} ${attributes.join(' ')}`;
  });
}
