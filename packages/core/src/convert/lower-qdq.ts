import { Attribute } from '../ir/attribute.js';
import { cloneModel } from '../ir/clone.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { inferElemTypes, isFloatType } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { INTEGER_DOMAIN, INTEGER_OPSET_VERSION, INTEGER_RANGE, type NarrowDtype, type Unit } from '../integer/integer-ops.js';
import { nodeTrait, opTrait } from '../ops/op-traits.js';
import { staticValues } from '../prepare/constants.js';
import { constantSource } from '../qdq/constant-source.js';
import { QDQ_OPSET } from '../qdq/export-qdq.js';
import { assertSymmetricQdq, isDequantizeLinear, isQuantizeLinear, readQdqParams } from '../qdq/read-qdq.js';
import { upgradeOpset } from '../qdq/upgrade-opset.js';
import { quantizeValue, roundHalfEven } from '../quant/numerics.js';
import { matchGemm, type GemmMatch } from './gemm-pattern.js';
import { fuseEpilogues } from './fuse-epilogue.js';
import { integerScaleShifts } from './integer-scale-shift.js';
import { pointwiseToLut } from './pointwise-lut.js';
import {
  dequantizeAttributes,
  gemmChannelAxis,
  integerDtypeName,
  isQuantkitNode,
  quantizeAttributes,
  replaceNode,
  rescaleAttributes,
  setUnit,
} from './integer-nodes.js';

/** A node that stays a standard float op on the CPU, and why. */
export interface Fallback {
  /** The node's name (or `(OpType)` when it has none). */
  readonly node: string;
  readonly opType: string;
  readonly reason: string;
}

export interface LowerQdqResult {
  readonly model: Model;
  readonly fallback: Fallback[];
}

/** Attributes of a standard GEMM op that the quantkit op keeps (alpha / beta are checked to be 1 and dropped). */
const KEPT_ATTRIBUTES: Record<string, readonly string[]> = {
  Conv: ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'],
  ConvTranspose: ['auto_pad', 'dilations', 'group', 'kernel_shape', 'output_padding', 'output_shape', 'pads', 'strides'],
  Gemm: ['transA', 'transB'],
  MatMul: [],
};

/**
 * The naive lowering of a symmetric QDQ model (qat.onnx, or another tool's) to the integer IR (integer-ops.ts);
 * the march passes then rewrite it locally. The input is not modified: the lowering works on a copy, upgraded to
 * opset 21 when older.
 *
 * 1. GEMM patterns (gemm-pattern.ts) become one quantkit Conv / ConvTranspose / Gemm / MatMul reading the integer input(s), the int8
 *    or int16 weight and an int32 bias at the accumulator's scale s_x · s_w[c] · 2^acc_shift (an int32 bias at another
 *    scale, or a float bias, is requantized to it), with out_dtype 'int32', x_scale, w_scale, relu, and acc_shift
 *    DOUBLE_INT16_ACC_SHIFT when x and the weight are both int16 (integer-ops.ts). Its int32 output goes through a
 *    quantkit Dequantize(scale = float32(s_x · s_w[c]), axis = output channel axis) that produces the group's float
 *    output (the same Value, so a graph output keeps its name).
 * 2. A fused Clip (Clip → QuantizeLinear) cannot sit on a Dequantize → Quantize pair, so the GEMM's int32 output goes
 *    straight to a quantkit Rescale (M = s_acc / s_out) with clip_min / clip_max = the bounds quantized at s_out
 *    (exact: quantizing is monotonic); fold-rescale-into-gemm folds it like any other Rescale.
 * 3. Every other QuantizeLinear → quantkit Quantize {scale, dtype}; DequantizeLinear → quantkit Dequantize
 *    {scale, axis} (constants included), or removed when nothing reads it any more. Q/DQ the integer IR cannot hold
 *    (per-axis Quantize, other integer types) stay standard and are listed as fallbacks.
 * 4. Elementwise ops with a float32 activation input → quantkit::<OpType> with their attributes and unit 'vpu' (a VPU
 *    float island); their constant operands stay float initializers. Elementwise ops on shapes or constants (no
 *    input that depends on input data: staticValues) are left alone.
 * 5. Pass-through (a nearest Resize included) and shape ops stay standard; Shape / Size of a dequantized tensor read the integer tensor instead.
 * 6. Every other op that reads or writes a float activation (no trait, a GEMM that does not match, another domain,
 *    float16 / float64 tensors) stays a standard float op: a CPU fallback, listed with its reason. An activation is
 *    a value that depends on input data: a Cast of a Constant or of a Shape is shape plumbing, which stays a
 *    standard op and is no fallback.
 * 6b. A pointwise activation island between a Dequantize and Quantize(s) becomes one quantkit::Lut (pointwise-lut.ts).
 * 6c. A GEMM's Dequantize → chain of activation / scale-shift islands → Quantize(s) becomes one quantkit::Epilogue on
 *    its int32 accumulator, or a Rescale when the chain is only Relu / Clip (fuse-epilogue.ts).
 * 6d. A standalone scale-shift island (BatchNormalization) between a Dequantize and Quantize(s) becomes one
 *    quantkit::ScaleShift in integer arithmetic (integer-scale-shift.ts).
 * 7. Units of Quantize / Dequantize: 'cpu' next to a fallback or a graph input / output, 'vpu' next to a VPU island or
 *    a float pass-through op, 'bpu' otherwise.
 * 8. Constants, scales and zero points nothing reads any more are removed, and the `quantkit` opset (version 1) is
 *    imported.
 */
export function lowerQdq(qdq: Model): LowerQdqResult {
  const model = cloneModel(qdq);
  if (model.opset < QDQ_OPSET) upgradeOpset(model, QDQ_OPSET);
  assertSymmetricQdq(model);
  const fallback = new QdqLowering(model.graph).run();
  model.opsetImports.set(INTEGER_DOMAIN, INTEGER_OPSET_VERSION);
  return { model, fallback };
}

class QdqLowering {
  private readonly elemTypes: Map<Value, number>;
  /** Values that do not depend on input data (weights, shape arithmetic), taken before any rewrite. */
  private readonly statics: Set<Value>;
  private readonly fallbacks = new Map<Node, string>();
  private readonly islands = new Set<Node>();
  /** Values that lost a reader here: removed at the end when nothing reads them any more. */
  private readonly detached = new Set<Value>();

  constructor(private readonly graph: Graph) {
    this.elemTypes = inferElemTypes(graph);
    this.statics = staticValues(graph);
  }

  run(): Fallback[] {
    const matches: GemmMatch[] = [];
    for (const node of this.graph.nodes()) {
      if (opTrait(node.opType, node.domain) !== 'gemm') continue;
      const match = matchGemm(node);
      if (typeof match === 'string') {
        if (this.touchesFloat(node)) this.fallbacks.set(node, match);
      } else {
        matches.push(match);
      }
    }
    for (const match of matches) this.lowerGemm(match);
    for (const node of this.graph.nodes()) {
      if (!node.graph) continue;
      if (isQuantizeLinear(node) || isDequantizeLinear(node)) continue;
      this.classify(node);
    }
    for (const node of this.graph.nodes()) {
      if (isQuantizeLinear(node)) this.lowerQuantize(node);
      else if (isDequantizeLinear(node)) this.lowerDequantize(node);
    }
    pointwiseToLut(this.graph);
    fuseEpilogues(this.graph);
    integerScaleShifts(this.graph);
    this.assignUnits();
    this.removeDead();
    const fallback: Fallback[] = [];
    for (const [node, reason] of this.fallbacks) {
      fallback.push({ node: node.name || `(${node.opType})`, opType: node.opType, reason });
    }
    return fallback;
  }

  private lowerGemm(match: GemmMatch): void {
    const { node, op, last } = match;
    const graph = this.graph;
    const accScale = Float32Array.from(match.wScale, (w) => Math.fround(match.xScale * w * 2 ** match.accShift));
    const perChannel = accScale.length > 1;
    const attributes: Attribute[] = [];
    for (const name of KEPT_ATTRIBUTES[op]!) {
      const attribute = node.attribute(name);
      if (attribute) attributes.push(attribute);
    }
    attributes.push(
      Attribute.string('out_dtype', 'int32'),
      Attribute.float('x_scale', match.xScale),
      Attribute.floats('w_scale', Array.from(match.wScale)),
    );
    if (match.relu) attributes.push(Attribute.int('relu', 1));
    if (match.accShift > 0) attributes.push(Attribute.int('acc_shift', match.accShift));
    const inputs: Value[] = [match.x, match.w];
    const bias = match.bias ? this.integerBias(match) : undefined;
    if (bias) inputs.push(bias);
    const output = last.outputs[0]!;
    const acc = new Value(graph.uniqueName(`${node.outputs[0]!.name}_int32`), { type: tensorType(DataType.INT32) });
    const gemm = new Node({ opType: op, domain: INTEGER_DOMAIN, name: node.name, inputs, outputs: [acc], attributes });
    // The group's float output (or the Quantize output, for a fused Clip) moves to the new tail node.
    last.replaceOutput(0, new Value(''));
    let tail: Node;
    if (match.clip) {
      const { scale, dtype, min, max } = match.clip;
      const qdtype = dtype === 'int8' ? 'qint8' : 'qint16';
      tail = new Node({
        opType: 'Rescale',
        domain: INTEGER_DOMAIN,
        name: graph.uniqueName(`${node.name || op}_rescale`),
        inputs: [acc],
        outputs: [output],
        attributes: rescaleAttributes({
          m: Array.from(accScale, (s) => s / Math.fround(scale)),
          axis: gemmChannelAxis(op),
          outDtype: dtype,
          clip: {
            min: min === undefined ? undefined : quantizeValue(min, scale, qdtype),
            max: max === undefined ? undefined : quantizeValue(max, scale, qdtype),
          },
          outScale: scale,
          unit: 'bpu',
          what: `the output of ${node.describe()}`,
        }),
      });
    } else {
      tail = new Node({
        opType: 'Dequantize',
        domain: INTEGER_DOMAIN,
        name: graph.uniqueName(`${node.name || op}_dequantize`),
        inputs: [acc],
        outputs: [output],
        attributes: dequantizeAttributes({ scale: accScale, axis: perChannel ? gemmChannelAxis(op) : undefined, unit: 'bpu' }),
      });
    }
    graph.insertBefore(last, gemm);
    graph.insertBefore(last, tail);
    const removed = match.clip ? [...match.nodes, match.clip.quantize] : [...match.nodes];
    for (const old of removed.reverse()) {
      for (const input of old.inputs) if (input) this.detached.add(input);
      graph.remove(old, { force: true });
    }
  }

  /**
   * The bias as int32 at the accumulator's scale, one value per output channel: the DequantizeLinear's integers
   * when its scales are float32(s_x · s_w[c] · 2^acc_shift) (quantkit's export), else the bias requantized to that.
   */
  private integerBias(match: GemmMatch): Value {
    const bias = match.bias!;
    const channels = match.channels ?? 1;
    const exact = Array.from(
      { length: channels },
      (_, c) => match.xScale * match.wScale[match.wScale.length === 1 ? 0 : c]! * 2 ** match.accShift,
    );
    const data = bias.tensor.toArray() as ArrayLike<number>;
    const at = (c: number) => (data.length === 1 ? 0 : c);
    const fits =
      bias.scale !== undefined &&
      bias.tensor.dims.length === 1 &&
      data.length === channels &&
      exact.every((s, c) => Math.fround(s) === bias.scale![bias.scale!.length === 1 ? 0 : c]);
    if (fits) return bias.value;
    const { min, max } = INTEGER_RANGE.int32;
    const q = new Int32Array(channels);
    for (let c = 0; c < channels; c++) {
      const real = bias.scale ? Math.fround(data[at(c)]! * bias.scale[bias.scale.length === 1 ? 0 : c]!) : data[at(c)]!;
      const r = roundHalfEven(real / exact[c]!);
      q[c] = r < min ? min : r > max ? max : r;
    }
    const name = this.graph.uniqueName(`${bias.value.name}_int32`);
    return this.graph.addInitializer(new Value(name), Tensor.fromArray(q, [channels]));
  }

  /** Steps 4 to 6 for one node that is not a Q / DQ. */
  private classify(node: Node): void {
    if (isQuantkitNode(node) || this.fallbacks.has(node)) return;
    const trait = nodeTrait(node);
    if (trait === 'shape') {
      this.readIntegerShape(node);
      return;
    }
    if (trait === 'passthrough' || trait === 'gemm') return;
    if (trait === 'elementwise') {
      const floats = node.inputs.filter((v): v is Value => v !== undefined && this.isFloatData(v));
      if (floats.length === 0) return;
      const other = floats.find((v) => this.elemTypes.get(v) !== DataType.FLOAT);
      if (other) {
        this.fallbacks.set(node, `it computes in ${dtypeName(this.elemTypes.get(other)!)}; VPU islands are float32`);
        return;
      }
      if (node.subgraphs().length > 0) {
        this.fallbacks.set(node, 'it holds a subgraph');
        return;
      }
      const attributes = [...node.attributes.values(), Attribute.string('unit', 'vpu')];
      const island = replaceNode(node, { opType: node.opType, domain: INTEGER_DOMAIN, name: node.name, inputs: node.inputs, attributes });
      this.islands.add(island);
      return;
    }
    if (!this.touchesFloat(node)) return;
    const domain = node.domain === '' || node.domain === 'ai.onnx' ? '' : `${node.domain}::`;
    this.fallbacks.set(node, `no march lowers ${domain}${node.opType}`);
  }

  /** Shape / Size need no data: reading the integer tensor lets its Dequantize go. */
  private readIntegerShape(node: Node): void {
    if (node.opType !== 'Shape' && node.opType !== 'Size') return;
    const input = node.inputs[0];
    const producer = input?.producer();
    if (!input || !isDequantizeLinear(producer)) return;
    node.setInput(0, producer.inputs[0]);
    this.detached.add(input);
  }

  private lowerQuantize(node: Node): void {
    const params = readQdqParams(node);
    const dtype = integerDtypeName(params.dtype);
    if (params.scale.length !== 1 || (dtype !== 'int8' && dtype !== 'int16')) {
      this.fallbacks.set(
        node,
        params.scale.length !== 1
          ? 'it quantizes per channel; quantkit::Quantize takes one scale'
          : `it quantizes to ${dtypeName(params.dtype)}; the integer IR takes int8 / int16 activations`,
      );
      return;
    }
    for (const input of node.inputs.slice(1)) if (input) this.detached.add(input);
    replaceNode(node, {
      opType: 'Quantize',
      domain: INTEGER_DOMAIN,
      name: node.name,
      inputs: [node.inputs[0]],
      attributes: quantizeAttributes({ scale: params.scale[0]!, dtype: dtype as NarrowDtype, unit: 'bpu' }),
    });
  }

  private lowerDequantize(node: Node): void {
    const output = node.outputs[0]!;
    if (output.useCount === 0 && !output.isGraphOutput()) {
      for (const input of node.inputs) if (input) this.detached.add(input);
      this.graph.remove(node);
      return;
    }
    const params = readQdqParams(node);
    if (!integerDtypeName(params.dtype)) {
      this.fallbacks.set(node, `it dequantizes ${dtypeName(params.dtype)}; the integer IR takes int8 / int16 / int32`);
      return;
    }
    for (const input of node.inputs.slice(1)) if (input) this.detached.add(input);
    replaceNode(node, {
      opType: 'Dequantize',
      domain: INTEGER_DOMAIN,
      name: node.name,
      inputs: [node.inputs[0]],
      attributes: dequantizeAttributes({ scale: params.scale, axis: params.axis, unit: 'bpu' }),
    });
  }

  private assignUnits(): void {
    const isCpu = (node: Node | undefined) => node !== undefined && this.fallbacks.has(node);
    const isVpu = (node: Node | undefined) =>
      node !== undefined && (this.islands.has(node) || (isStandard(node) && nodeTrait(node) === 'passthrough'));
    for (const node of this.graph) {
      let unit: Unit | undefined;
      if (isQuantkitNode(node, 'Quantize')) {
        const input = node.inputs[0]!;
        const producer = input.producer();
        unit = input.isGraphInput() || input.isGraphOutput() || isCpu(producer) ? 'cpu' : isVpu(producer) ? 'vpu' : 'bpu';
      } else if (isQuantkitNode(node, 'Dequantize')) {
        const output = node.outputs[0]!;
        const readers = output.uses().map((use) => use.node);
        unit = output.isGraphOutput() || readers.some(isCpu) ? 'cpu' : readers.some(isVpu) ? 'vpu' : 'bpu';
      }
      if (unit) setUnit(node, unit);
    }
  }

  /** Removes Constant / Identity nodes and initializers that only fed what was lowered away. */
  private removeDead(): void {
    const pending = [...this.detached];
    while (pending.length > 0) {
      const value = pending.pop()!;
      if (value.useCount > 0 || value.isGraphOutput()) continue;
      if (value.isInitializer()) {
        if (!value.isGraphInput()) this.graph.removeInitializer(value);
        continue;
      }
      const producer = value.producer();
      if (!producer?.graph || !isStandard(producer)) continue;
      if (producer.opType !== 'Constant' && producer.opType !== 'Identity') continue;
      if (producer.outputs.some((out) => out.useCount > 0 || out.isGraphOutput())) continue;
      for (const input of producer.inputs) if (input) pending.push(input);
      this.graph.remove(producer);
    }
    const defined = new Set<Value>([...this.graph.inputs, ...this.graph.initializers.values()]);
    for (const node of this.graph) for (const value of node.outputs) defined.add(value);
    const kept = this.graph.valueInfos.filter((value) => defined.has(value));
    this.graph.valueInfos.splice(0, this.graph.valueInfos.length, ...kept);
  }

  /** Whether the node reads or writes a float tensor that depends on input data (an activation). */
  private touchesFloat(node: Node): boolean {
    const values = [...node.inputs, ...node.outputs];
    return values.some((v) => v !== undefined && v.name !== '' && this.isFloatData(v));
  }

  /** A float activation: not a constant, not computed from constants and shapes alone. */
  private isFloatData(value: Value): boolean {
    return !this.statics.has(value) && !isConstant(value) && isFloatType(this.elemTypes.get(value));
  }
}

function isStandard(node: Node): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

function isConstant(value: Value): boolean {
  return constantSource(value) !== undefined;
}
