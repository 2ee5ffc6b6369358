import { Attribute } from '../ir/attribute.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { tensorShape, tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { INTEGER_DOMAIN } from '../integer/integer-ops.js';
import { encodeScaleShift } from '../integer/requant.js';
import { constantSource } from '../qdq/constant-source.js';
import { integerDtypeOf, isQuantkitNode, removeIfUnused, scalesOf, stringAttribute } from './integer-nodes.js';

/**
 * integer-scale-shift — a standalone scale-shift (the canonical form of a per-channel affine with no GEMM before it:
 * a BatchNormalization, passes-canonicalize's fold-affine) between a Dequantize and a Quantize becomes one
 * quantkit::ScaleShift in integer arithmetic instead of a float VPU island.
 *
 * 1. The unit: a quantkit BatchNormalization island with constant scale, B, mean and var (one value per channel),
 *    whose input is a quantkit Dequantize of an int8 / int16 tensor with one scale s_in; its output is no graph
 *    output and is read only by quantkit Quantize nodes of one scale s_out and dtype. Anything else: unchanged.
 * 2. Per channel c (axis 1): a = scale / √(var + ε), b = B − mean · a in float64, and y = round(q · m + β) with
 *    m = s_in · a / s_out, β = b / s_out, encoded by encodeScaleShift (requant.ts) as a signed multiplier, a shift and
 *    an integer offset: y = floor((q · multiplier + offset) / 2^shift), saturated to the output dtype.
 * 3. The ScaleShift reads the integer tensor behind the Dequantize and takes over the first Quantize's output value
 *    (name and readers); the other Quantizes' readers read it; the island, the Quantizes, the parameters only they
 *    read, and the Dequantize (when nothing else reads it) go.
 * Returns how many it rewrote.
 */
export function integerScaleShifts(graph: Graph): number {
  let count = 0;
  for (const node of graph.nodes()) {
    if (!node.graph || !isQuantkitNode(node, 'BatchNormalization')) continue;
    if (rewrite(graph, node)) count++;
  }
  return count;
}

function rewrite(graph: Graph, bn: Node): boolean {
  const x = bn.inputs[0];
  const dequantize = x?.producer();
  if (!x || !dequantize || !isQuantkitNode(dequantize, 'Dequantize') || bn.inputs.length !== 5 || bn.outputs.length !== 1) return false;
  const q = dequantize.inputs[0]!;
  const inDtype = integerDtypeOf(q);
  const inScales = scalesOf(dequantize).scale;
  if ((inDtype !== 'int8' && inDtype !== 'int16') || inScales.length !== 1) return false;
  const params = bn.inputs.slice(1).map((v) => constantSource(v)?.tensor.toFloat32());
  if (params.some((p) => p === undefined)) return false;
  const [scale, bias, mean, variance] = params as Float32Array[];
  const channels = scale!.length;
  if ([bias, mean, variance].some((p) => p!.length !== channels)) return false;
  const out = bn.outputs[0]!;
  if (out.isGraphOutput()) return false;
  const uses = out.uses();
  if (uses.length === 0) return false;
  const quantizes = uses.map((use) => use.node);
  const outScale = scalesOf(quantizes[0]!).scale[0]!;
  const outDtype = stringAttribute(quantizes[0]!, 'dtype');
  if (outDtype !== 'int8' && outDtype !== 'int16') return false;
  const fits = uses.every(
    ({ node, index }) =>
      index === 0 &&
      isQuantkitNode(node, 'Quantize') &&
      scalesOf(node).scale[0] === outScale &&
      stringAttribute(node, 'dtype') === outDtype &&
      !node.outputs[0]!.isGraphOutput(),
  );
  if (!fits) return false;

  const epsilon = bn.attribute('epsilon')?.asNumber() ?? 1e-5;
  const multiplier: number[] = [];
  const shift: number[] = [];
  const offset: number[] = [];
  for (let c = 0; c < channels; c++) {
    const a = scale![c]! / Math.sqrt(variance![c]! + epsilon);
    const b = bias![c]! - mean![c]! * a;
    const encoded = encodeScaleShift((inScales[0]! * a) / outScale, b / outScale, `${bn.describe()} (channel ${c})`);
    multiplier.push(encoded.multiplier);
    shift.push(encoded.shift);
    offset.push(encoded.offset);
  }
  const name = bn.name || 'scale_shift';
  const node = new Node({
    opType: 'ScaleShift',
    domain: INTEGER_DOMAIN,
    name: graph.uniqueName(`${name}_integer`),
    inputs: [q],
    outputs: [new Value(graph.uniqueName(`${name}_integer`))],
    attributes: [
      Attribute.ints('multiplier', multiplier),
      Attribute.ints('shift', shift),
      Attribute.ints('offset', offset),
      Attribute.int('axis', 1),
      Attribute.string('out_dtype', outDtype),
      Attribute.float('in_scale', Math.fround(inScales[0]!)),
      Attribute.float('out_scale', Math.fround(outScale)),
      Attribute.string('unit', 'vpu'),
    ],
  });
  const output = quantizes[0]!.outputs[0]!;
  const shape = tensorShape(output.type) ?? tensorShape(out.type);
  graph.insertBefore(quantizes[0]!, node);
  for (const quantize of quantizes) {
    const value = quantize.outputs[0]!;
    quantize.replaceOutput(0, new Value(''));
    if (quantize === quantizes[0]) node.replaceOutput(0, value);
    else value.replaceAllUsesWith(node.outputs[0]!);
    graph.remove(quantize, { force: true });
  }
  node.outputs[0]!.type = tensorType(outDtype === 'int8' ? DataType.INT8 : DataType.INT16, shape);
  const operands = bn.inputs.slice(1).filter((v): v is Value => v !== undefined);
  graph.remove(bn, { force: true });
  removeIfUnused(graph, dequantize);
  for (const value of operands) {
    if (value.useCount === 0 && value.isInitializer() && !value.isGraphInput() && !value.isGraphOutput()) graph.removeInitializer(value);
  }
  return true;
}
