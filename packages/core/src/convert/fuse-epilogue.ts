import { Attribute } from '../ir/attribute.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorShape, tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import type { EpilogueStepOp } from '../integer/epilogue.js';
import { INTEGER_DOMAIN, type NarrowDtype } from '../integer/integer-ops.js';
import { constantSource } from '../qdq/constant-source.js';
import { quantizeValue } from '../quant/numerics.js';
import {
  clipAttributes,
  clipOf,
  isIntegerGemm,
  isQuantkitNode,
  rescaleAttributes,
  scalesOf,
  stringAttribute,
} from './integer-nodes.js';
import { siluIsland } from './pointwise-lut.js';

/**
 * fuse-epilogue — the output stage of a GEMM group (prepare/fuse-gemm.ts: a GEMM and its chain of activations and
 * scale-shifts, quantized once at the chain's end) becomes one op after the GEMM's int32 accumulator instead of a
 * Dequantize, float VPU islands and a Quantize.
 *
 * 1. The unit: a quantkit Dequantize whose input is the int32 accumulator of a quantkit Conv / ConvTranspose / Gemm /
 *    MatMul (out_dtype 'int32', no clip), read by nothing else and no graph output; then a chain of VPU islands, each
 *    the only reader of the value before it (SiLU: its Sigmoid and Mul islands, the value's only two readers), none
 *    a graph output: Relu, Clip with constant bounds, HardSigmoid, HardSwish, LeakyRelu, Gelu (tanh form), Sigmoid,
 *    Tanh, SiLU, and BatchNormalization with constant parameters — the latter only where its channel axis 1 is the
 *    accumulator's (not after a MatMul). Gelu's erf form ends the chain (epilogue.ts says why).
 * 2. The chain's last value is read only by quantkit Quantize nodes of one scale and dtype (input 0), whose outputs
 *    are no graph outputs. A chain that ends elsewhere, or has no island: unchanged.
 * 3. Trailing Relu / Clip steps become the output clamp (clip_min / clip_max: the bounds quantized at the output
 *    scale, exact since quantizing is monotonic), as long as the clamps compose into one interval.
 * 4. A chain that is only Relu / Clip becomes a quantkit Rescale (M = s_acc / s_out) with that clamp, which the
 *    march's fold-rescale-into-gemm folds into the GEMM's output stage, as for a single fused Relu or Clip.
 * 5. Any other chain becomes one quantkit::Epilogue (integer-ops.ts) reading the accumulator: acc_scale and axis are
 *    the Dequantize's, a BatchNormalization becomes a ScaleShift step with the float32 pair a = scale / √(var + ε),
 *    b = B − mean · a as two new initializers, out_scale / out_dtype the Quantize's; unit 'vpu'.
 * 6. The new op takes over the first Quantize's output value (name and readers); the other Quantizes' readers read
 *    it; the Dequantize, the islands, the Quantizes and constants only they read go.
 * Returns how many groups it rewrote.
 */
export function fuseEpilogues(graph: Graph): number {
  let count = 0;
  for (const node of graph.nodes()) {
    if (!node.graph || !isQuantkitNode(node, 'Dequantize')) continue;
    const unit = epilogueUnit(node);
    if (!unit) continue;
    rewrite(graph, unit);
    count++;
  }
  return count;
}

interface Step {
  op: EpilogueStepOp;
  params: number[];
  /** A ScaleShift's a and b. */
  affine?: { scale: Float32Array; shift: Float32Array };
  /** The clamp interval of a Relu / Clip step. */
  clamp?: [number, number];
}

interface EpilogueUnit {
  dequantize: Node;
  acc: Value;
  steps: Step[];
  islands: Node[];
  quantizes: Node[];
  outScale: number;
  outDtype: NarrowDtype;
}

/** Cases 1 and 2 for the Dequantize `dequantize`. */
function epilogueUnit(dequantize: Node): EpilogueUnit | undefined {
  const acc = dequantize.inputs[0];
  const gemm = acc?.producer();
  if (!acc || !gemm || !isIntegerGemm(gemm) || stringAttribute(gemm, 'out_dtype') !== 'int32') return undefined;
  const gemmClip = clipOf(gemm);
  if (gemmClip.min !== undefined || gemmClip.max !== undefined) return undefined;
  if (acc.isGraphOutput() || acc.useCount !== 1) return undefined;
  const { scale, axis } = scalesOf(dequantize);
  const channelAxisIsOne = scale.length === 1 ? gemm.opType !== 'MatMul' : axis === 1;
  const steps: Step[] = [];
  const islands: Node[] = [];
  let value = dequantize.outputs[0]!;
  for (;;) {
    if (value.isGraphOutput()) return undefined;
    const readers = value.uses().map((use) => use.node);
    if (readers.length > 0 && readers.every((reader) => isQuantkitNode(reader, 'Quantize'))) break;
    const sigmoid = readers.find((reader) => isQuantkitNode(reader, 'Sigmoid'));
    const silu = readers.length === 2 && sigmoid ? siluIsland(sigmoid, value) : undefined;
    if (silu) {
      steps.push({ op: 'SiLU', params: [] });
      islands.push(...silu);
      value = silu[1]!.outputs[0]!;
      continue;
    }
    if (value.useCount !== 1) return undefined;
    const { node: reader, index } = value.uses()[0]!;
    if (index !== 0 || reader.outputs.length !== 1 || !isQuantkitNode(reader)) return undefined;
    const step = stepOf(reader, channelAxisIsOne);
    if (!step) return undefined;
    steps.push(step);
    islands.push(reader);
    value = reader.outputs[0]!;
  }
  if (steps.length === 0) return undefined;
  const quantizes = value.uses().map((use) => use.node);
  const first = quantizes[0]!;
  const outScale = scalesOf(first).scale[0]!;
  const outDtype = stringAttribute(first, 'dtype');
  if (outDtype !== 'int8' && outDtype !== 'int16') return undefined;
  const fits = value.uses().every(
    ({ node, index }) =>
      index === 0 &&
      isQuantkitNode(node, 'Quantize') &&
      scalesOf(node).scale[0] === outScale &&
      stringAttribute(node, 'dtype') === outDtype &&
      !node.outputs[0]!.isGraphOutput(),
  );
  return fits ? { dequantize, acc, steps, islands, quantizes, outScale, outDtype } : undefined;
}

function constantScalar(value: Value | undefined, fallback: number): number | undefined {
  if (!value || value.name === '') return fallback;
  const tensor = constantSource(value)?.tensor;
  return tensor && tensor.size === 1 ? tensor.toFloat32()[0]! : undefined;
}

function floatAttr(node: Node, name: string, fallback: number): number {
  return Math.fround(node.attribute(name)?.asNumber() ?? fallback);
}

/** The step an island computes (case 1), or undefined when it is none. */
function stepOf(node: Node, channelAxisIsOne: boolean): Step | undefined {
  const extra = node.inputs.slice(1).some((v) => v !== undefined && v.name !== '');
  switch (node.opType) {
    case 'Relu':
      return extra ? undefined : { op: 'Relu', params: [], clamp: [0, Infinity] };
    case 'Sigmoid':
    case 'Tanh':
    case 'HardSwish':
      return extra ? undefined : { op: node.opType, params: [] };
    case 'HardSigmoid':
      return extra ? undefined : { op: 'HardSigmoid', params: [floatAttr(node, 'alpha', 0.2), floatAttr(node, 'beta', 0.5)] };
    case 'LeakyRelu':
      return extra ? undefined : { op: 'LeakyRelu', params: [floatAttr(node, 'alpha', 0.01)] };
    case 'Gelu':
      return !extra && node.attribute('approximate')?.asString() === 'tanh' ? { op: 'GeluTanh', params: [] } : undefined;
    case 'Clip': {
      const lo = constantScalar(node.inputs[1], -Infinity);
      const hi = constantScalar(node.inputs[2], Infinity);
      if (lo === undefined || hi === undefined || !(lo <= hi)) return undefined;
      return { op: 'Clip', params: [Math.fround(lo), Math.fround(hi)], clamp: [Math.fround(lo), Math.fround(hi)] };
    }
    case 'BatchNormalization':
      return channelAxisIsOne ? scaleShiftStep(node) : undefined;
    default:
      return undefined;
  }
}

/** A BatchNormalization island with constant parameters as a ScaleShift step: a = scale / √(var + ε), b = B − mean · a. */
function scaleShiftStep(node: Node): Step | undefined {
  if (node.inputs.length !== 5 || node.outputs.length !== 1) return undefined;
  const params = node.inputs.slice(1).map((v) => constantSource(v)?.tensor.toFloat32());
  if (params.some((p) => p === undefined)) return undefined;
  const [scale, bias, mean, variance] = params as Float32Array[];
  const channels = scale!.length;
  if ([bias, mean, variance].some((p) => p!.length !== channels)) return undefined;
  const epsilon = node.attribute('epsilon')?.asNumber() ?? 1e-5;
  const a = new Float32Array(channels);
  const b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const k = scale![c]! / Math.sqrt(variance![c]! + epsilon);
    a[c] = k;
    b[c] = bias![c]! - mean![c]! * k;
  }
  return { op: 'ScaleShift', params: [], affine: { scale: a, shift: b } };
}

/** Case 3: how many trailing steps fold into one clamp, and its interval. */
function trailingClamp(steps: readonly Step[]): { folded: number; lo: number; hi: number } {
  let lo = -Infinity;
  let hi = Infinity;
  let folded = 0;
  for (let i = steps.length - 1; i >= 0; i--) {
    const clamp = steps[i]!.clamp;
    if (!clamp) break;
    // clamp(clamp(x, a, b), lo, hi) = clamp(x, max(a, lo), min(b, hi)) when the intervals overlap.
    const [a, b] = clamp;
    if (Math.max(a, lo) > Math.min(b, hi)) break;
    lo = Math.max(a, lo);
    hi = Math.min(b, hi);
    folded++;
  }
  return { folded, lo, hi };
}

function rewrite(graph: Graph, unit: EpilogueUnit): void {
  const { dequantize, acc, steps, islands, quantizes, outScale, outDtype } = unit;
  const qtype = outDtype === 'int8' ? 'qint8' : 'qint16';
  const { folded, lo, hi } = trailingClamp(steps);
  const clip = {
    min: lo === -Infinity ? undefined : quantizeValue(lo, outScale, qtype),
    max: hi === Infinity ? undefined : quantizeValue(hi, outScale, qtype),
  };
  const kept = steps.slice(0, steps.length - folded);
  const { scale, axis } = scalesOf(dequantize);
  const name = islands[islands.length - 1]!.name || dequantize.name || 'epilogue';
  const output = quantizes[0]!.outputs[0]!;
  const shape = tensorShape(output.type) ?? tensorShape(dequantize.outputs[0]!.type);
  let fused: Node;
  if (kept.length === 0) {
    fused = new Node({
      opType: 'Rescale',
      domain: INTEGER_DOMAIN,
      name: graph.uniqueName(`${name}_rescale`),
      inputs: [acc],
      outputs: [new Value(graph.uniqueName(`${name}_rescale`))],
      attributes: rescaleAttributes({
        m: scale.map((s) => s / Math.fround(outScale)),
        axis,
        outDtype,
        clip,
        outScale,
        unit: 'bpu',
        what: `the output of ${dequantize.describe()}`,
      }),
    });
  } else {
    const inputs: Value[] = [acc];
    for (const step of kept) {
      if (!step.affine) continue;
      const channels = step.affine.scale.length;
      inputs.push(graph.addInitializer(new Value(graph.uniqueName(`${name}_scale`)), Tensor.fromArray(step.affine.scale, [channels])));
      inputs.push(graph.addInitializer(new Value(graph.uniqueName(`${name}_shift`)), Tensor.fromArray(step.affine.shift, [channels])));
    }
    const attributes: Attribute[] = [
      Attribute.floats('acc_scale', scale),
      Attribute.int('axis', scale.length > 1 ? axis : 1),
      Attribute.string('steps', kept.map((s) => s.op).join(',')),
    ];
    const params = kept.flatMap((s) => s.params);
    if (params.length > 0) attributes.push(Attribute.floats('step_params', params));
    attributes.push(
      Attribute.string('out_dtype', outDtype),
      Attribute.float('out_scale', Math.fround(outScale)),
      ...clipAttributes(clip),
      Attribute.string('unit', 'vpu'),
    );
    fused = new Node({
      opType: 'Epilogue',
      domain: INTEGER_DOMAIN,
      name: graph.uniqueName(`${name}_epilogue`),
      inputs,
      outputs: [new Value(graph.uniqueName(`${name}_epilogue`))],
      attributes,
    });
  }
  graph.insertBefore(quantizes[0]!, fused);
  for (const quantize of quantizes) {
    const out = quantize.outputs[0]!;
    quantize.replaceOutput(0, new Value(''));
    if (quantize === quantizes[0]) fused.replaceOutput(0, out);
    else out.replaceAllUsesWith(fused.outputs[0]!);
    graph.remove(quantize, { force: true });
  }
  fused.outputs[0]!.type = tensorType(outDtype === 'int8' ? DataType.INT8 : DataType.INT16, shape);
  const operands = islands.flatMap((n) => n.inputs).filter((v): v is Value => v !== undefined);
  for (const old of [...islands].reverse()) graph.remove(old, { force: true });
  graph.remove(dequantize, { force: true });
  for (const value of operands) {
    if (value.useCount === 0 && value.isInitializer() && !value.isGraphInput() && !value.isGraphOutput()) graph.removeInitializer(value);
  }
}
