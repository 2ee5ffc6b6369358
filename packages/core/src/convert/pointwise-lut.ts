import { Attribute } from '../ir/attribute.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorShape, tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { INTEGER_DOMAIN, INTEGER_RANGE, type NarrowDtype } from '../integer/integer-ops.js';
import { constantSource } from '../qdq/constant-source.js';
import { quantizeValue } from '../quant/numerics.js';
import { integerDtypeOf, isQuantkitNode, removeIfUnused, scalesOf, stringAttribute } from './integer-nodes.js';

/**
 * pointwise-lut — a standalone pointwise activation between a Dequantize and a Quantize becomes one VPU look-up
 * table over the integer input codes: quantkit::Lut(q, table) with table[q − min] = Quantize(f(Dequantize(q))).
 *
 * 1. The unit: a quantkit VPU island of one data input whose function is in {@link POINTWISE} (Relu, Clip with
 *    constant bounds, HardSwish, HardSigmoid, Sigmoid, Tanh, LeakyRelu, Gelu, Elu, Softplus, Abs, Neg, Exp), or
 *    SiLU: a Sigmoid island and a Mul island reading the same value, `Mul(x, Sigmoid(x))`, the Sigmoid's output read
 *    by the Mul only.
 * 2. Its input is a quantkit Dequantize of an int8 / int16 tensor with one scale; its output (the Mul's, for SiLU) is
 *    not a graph output and is read only by quantkit Quantize nodes of one scale and dtype. Anything else: unchanged.
 * 3. The table: for every code q of the input type, x = float32(q) · s_in in float32 (DequantizeLinear), y = f(x)
 *    in float64 rounded to float32, code = Quantize(y, s_out) (QuantizeLinear). int8: 256 entries; int16: 65536 — a
 *    full table, not a segmented one: it is exact by construction (every code has its own entry, so the integer
 *    model applies the QDQ model's rule code by code, up to the float32 rounding of f), and 128 KB is small for an
 *    op that replaces a float evaluation per element. It is an initializer of the output dtype, input 1 of the Lut.
 * 4. The Quantize nodes go (their readers read the Lut's output, which takes over the first Quantize's output
 *    value and name); the islands go, with constant operands nothing else reads; the Dequantize goes when nothing
 *    else reads it.
 * Returns how many tables were made.
 */
export function pointwiseToLut(graph: Graph): number {
  let count = 0;
  for (const node of graph.nodes()) {
    if (!node.graph || !isQuantkitNode(node)) continue;
    const unit = lutUnit(node);
    if (!unit) continue;
    const { dequantize, last, fn, nodes } = unit;
    const inDtype = integerDtypeOf(dequantize.inputs[0]) as NarrowDtype;
    const sIn = scalesOf(dequantize).scale[0]!;
    const quantizes = last.outputs[0]!.uses().map((u) => u.node);
    const sOut = scalesOf(quantizes[0]!).scale[0]!;
    const outDtype = stringAttribute(quantizes[0]!, 'dtype') as NarrowDtype;
    const { min, max } = INTEGER_RANGE[inDtype];
    const Ctor = outDtype === 'int8' ? Int8Array : Int16Array;
    const table = new Ctor(max - min + 1);
    const qtype = outDtype === 'int8' ? 'qint8' : 'qint16';
    for (let q = min; q <= max; q++) {
      const x = Math.fround(Math.fround(q) * Math.fround(sIn));
      table[q - min] = quantizeValue(Math.fround(fn(x)), sOut, qtype);
    }
    const name = last.name || node.name || 'lut';
    const tableValue = graph.addInitializer(new Value(graph.uniqueName(`${name}_table`)), Tensor.fromArray(table, [table.length]));
    const output = quantizes[0]!.outputs[0]!;
    const shape = tensorShape(output.type);
    const lut = new NodeFactory(graph).lut(name, dequantize.inputs[0]!, tableValue, {
      function: nodes.map((n) => n.opType).join('·'),
      inDtype,
      outDtype,
      inScale: sIn,
      outScale: sOut,
    });
    graph.insertBefore(quantizes[0]!, lut);
    for (const quantize of quantizes) {
      const out = quantize.outputs[0]!;
      quantize.replaceOutput(0, new Value(''));
      if (quantize === quantizes[0]) lut.replaceOutput(0, out);
      else out.replaceAllUsesWith(lut.outputs[0]!);
      graph.remove(quantize, { force: true });
    }
    lut.outputs[0]!.type = tensorType(outDtype === 'int8' ? DataType.INT8 : DataType.INT16, shape);
    const operands = nodes.flatMap((n) => n.inputs).filter((v): v is Value => v !== undefined);
    for (const old of [...nodes].reverse()) graph.remove(old, { force: true });
    removeIfUnused(graph, dequantize);
    // Constant operands only the islands read (a Clip's bounds) go with them.
    for (const value of operands) {
      if (value.useCount === 0 && value.isInitializer() && !value.isGraphInput() && !value.isGraphOutput()) graph.removeInitializer(value);
    }
    count++;
  }
  return count;
}

interface LutUnit {
  dequantize: Node;
  /** The node whose output the Quantize nodes read. */
  last: Node;
  nodes: Node[];
  fn: (x: number) => number;
}

/** Case 1 and 2 for the island `node` (the first node of the unit). */
function lutUnit(node: Node): LutUnit | undefined {
  const x = node.inputs[0];
  const dequantize = x?.producer();
  if (!x || !dequantize || !isQuantkitNode(dequantize, 'Dequantize')) return undefined;
  const dtype = integerDtypeOf(dequantize.inputs[0]);
  if ((dtype !== 'int8' && dtype !== 'int16') || scalesOf(dequantize).scale.length !== 1) return undefined;
  let nodes: Node[];
  let fn: ((x: number) => number) | undefined;
  const silu = siluIsland(node, x);
  if (silu) {
    nodes = silu;
    fn = (v) => v / (1 + Math.exp(-v));
  } else {
    fn = pointwiseFunction(node);
    nodes = [node];
  }
  if (!fn) return undefined;
  const last = nodes[nodes.length - 1]!;
  const out = last.outputs[0]!;
  if (last.outputs.length !== 1 || out.isGraphOutput()) return undefined;
  const readers = out.uses();
  if (readers.length === 0) return undefined;
  const first = readers[0]!.node;
  if (!isQuantkitNode(first, 'Quantize')) return undefined;
  const scale = scalesOf(first).scale[0];
  const outDtype = stringAttribute(first, 'dtype');
  const fits = readers.every(
    ({ node: r, index }) =>
      index === 0 &&
      isQuantkitNode(r, 'Quantize') &&
      scalesOf(r).scale[0] === scale &&
      stringAttribute(r, 'dtype') === outDtype &&
      !r.outputs[0]!.isGraphOutput(),
  );
  return fits && (outDtype === 'int8' || outDtype === 'int16') ? { dequantize, last, nodes, fn } : undefined;
}

/** A Sigmoid island on `x` whose output only a Mul island of (x, sigmoid) reads. */
export function siluIsland(node: Node, x: Value): Node[] | undefined {
  if (node.opType !== 'Sigmoid' || node.inputs.length !== 1) return undefined;
  const gate = node.outputs[0]!;
  if (gate.useCount !== 1 || gate.isGraphOutput()) return undefined;
  const mul = gate.uses()[0]!.node;
  if (!isQuantkitNode(mul, 'Mul') || mul.inputs.length !== 2) return undefined;
  const [a, b] = mul.inputs;
  return (a === x && b === gate) || (a === gate && b === x) ? [node, mul] : undefined;
}

function floatAttr(node: Node, name: string, fallback: number): number {
  return node.attribute(name)?.asNumber() ?? fallback;
}

/** The float function of a one-input pointwise island, or undefined when it is not one (case 1). */
export function pointwiseFunction(node: Node): ((x: number) => number) | undefined {
  const extra = node.inputs.slice(1).filter((v) => v !== undefined && v.name !== '');
  const simple = (fn: (x: number) => number) => (extra.length === 0 && node.inputs.length >= 1 ? fn : undefined);
  switch (node.opType) {
    case 'Relu':
      return simple((x) => (x > 0 ? x : 0));
    case 'Sigmoid':
      return simple((x) => 1 / (1 + Math.exp(-x)));
    case 'Tanh':
      return simple(Math.tanh);
    case 'Abs':
      return simple(Math.abs);
    case 'Neg':
      return simple((x) => -x);
    case 'Exp':
      return simple(Math.exp);
    case 'Softplus':
      return simple((x) => (x > 30 ? x : Math.log1p(Math.exp(x))));
    case 'HardSigmoid': {
      const [alpha, beta] = [floatAttr(node, 'alpha', 0.2), floatAttr(node, 'beta', 0.5)];
      return simple((x) => Math.max(0, Math.min(1, alpha * x + beta)));
    }
    case 'HardSwish':
      return simple((x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)));
    case 'LeakyRelu': {
      const alpha = floatAttr(node, 'alpha', 0.01);
      return simple((x) => (x >= 0 ? x : alpha * x));
    }
    case 'Elu': {
      const alpha = floatAttr(node, 'alpha', 1);
      return simple((x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1)));
    }
    case 'Gelu': {
      const tanh = (node.attribute('approximate')?.asString() ?? 'none') === 'tanh';
      return simple((x) =>
        tanh ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))) : 0.5 * x * (1 + erf(x / Math.SQRT2)),
      );
    }
    case 'Clip': {
      const bound = (i: number, fallback: number): number | undefined => {
        const v = node.inputs[i];
        if (!v || v.name === '') return fallback;
        const t = constantSource(v)?.tensor;
        return t && t.size === 1 ? t.toFloat32()[0]! : undefined;
      };
      const lo = bound(1, -Infinity);
      const hi = bound(2, Infinity);
      if (lo === undefined || hi === undefined) return undefined;
      return (x) => Math.min(hi, Math.max(lo, x));
    }
    default:
      return undefined;
  }
}

/** erf close to float64 precision: its Taylor series below 2.5, the continued fraction of erfc above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // The Taylor series: alternating terms below 2^-52 of the sum within 80 terms here.
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = e^(−x²) / √π · 1 / (x + (1/2) / (x + (2/2) / (x + (3/2) / …))), evaluated from the tail.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

/** Builds the quantkit::Lut node (integer-ops.ts). */
class NodeFactory {
  constructor(private readonly graph: Graph) {}

  lut(
    name: string,
    q: Value,
    table: Value,
    a: { function: string; inDtype: NarrowDtype; outDtype: NarrowDtype; inScale: number; outScale: number },
  ): Node {
    const out = new Value(this.graph.uniqueName(`${name}_lut`));
    return new Node({
      opType: 'Lut',
      domain: INTEGER_DOMAIN,
      name: this.graph.uniqueName(`${name}_lut`),
      inputs: [q, table],
      outputs: [out],
      attributes: [
        Attribute.string('function', a.function),
        Attribute.string('out_dtype', a.outDtype),
        Attribute.float('in_scale', Math.fround(a.inScale)),
        Attribute.float('out_scale', Math.fround(a.outScale)),
        Attribute.string('unit', 'vpu'),
      ],
    });
  }
}
