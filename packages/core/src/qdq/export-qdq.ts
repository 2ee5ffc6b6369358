import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { inferElemTypes } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { Value } from '../ir/value.js';
import { verifyModel } from '../ir/verify.js';
import { DOUBLE_INT16_ACC_SHIFT } from '../integer/integer-ops.js';
import type { ActivationDtype, ActivationQuant, GemmGroup, QuantPlan, WeightDtype } from '../prepare/quant-plan.js';
import { quantPlanOf, weightDtypeOf } from '../prepare/quant-plan.js';
import {
  absMaxPerChannel,
  absMaxPerTensor,
  channelLayout,
  forEachChannelRun,
  roundHalfEven,
  scaleFromAmax,
} from '../quant/numerics.js';
import type { QParams } from '../quant/observer.js';
import { QRANGE } from '../quant/qtypes.js';
import { cloneMapped } from './clone-mapped.js';
import { constantSource, type ConstantSource } from './constant-source.js';
import { NameScope } from './name-scope.js';
import { upgradeOpset } from './upgrade-opset.js';

/** The ai.onnx opset of a qat.onnx with int16 Q/DQ: the first with int16 QuantizeLinear / DequantizeLinear. */
export const QDQ_OPSET = 21;
/** The lowest ai.onnx opset of an int8-only qat.onnx: the first with per-axis DequantizeLinear. */
export const QDQ_MIN_INT8_OPSET = 13;

export interface ExportQdqOptions {
  /**
   * Quantize only the weights (per channel, each group's plan type) and leave every activation and bias in float:
   * the precision floor that the weights alone impose, whatever the activations do.
   */
  weightsOnly?: boolean;
}

/** A quantized tensor and its float twin, for per-layer metrics. */
export interface QdqTwin {
  /** The tensor's name in the float model. */
  readonly float: string;
  /** The name of its DequantizeLinear output in qat.onnx. */
  readonly quantized: string;
}

export interface ExportQdqResult {
  readonly model: Model;
  /** One per quantized activation, graph inputs included, in plan order. */
  readonly twins: QdqTwin[];
}

/** Where the quantization parameters of a plan's activations come from (calibration results). */
export type QParamsLookup = (value: Value) => QParams | undefined;

/**
 * Writes the QDQ model (qat.onnx) of a prepared model: standard ONNX at the lowest opset that expresses it, which
 * simulates the quantized model in onnxruntime and is what `convert` reads. The input model is not modified.
 *
 * 1. Opset: a copy of the model is upgraded (`upgradeOpset`) to the lowest opset that expresses it: 21 (IR ≥ 10)
 *    when any activation or weight is int16; otherwise the model's own opset, at least 13 (per-axis DequantizeLinear).
 *    onnxruntime's default graph optimizations reject int8 Q/DQ stamped opset 21 (DESIGN.md §11), so an int8
 *    qat.onnx must not be raised further than it needs.
 * 2. Activations: each ActivationQuant gets `QuantizeLinear → DequantizeLinear` right after its producer (after
 *    the input, for a graph input), per tensor, int8 or int16, zero point 0 as a typed initializer. Its scale is
 *    `qparams(value)`, or for a shared one that of the value it shares with, followed recursively. Without `uses`
 *    every reader takes the DequantizeLinear output, and a graph output keeps its name: the float tensor is
 *    renamed `<name>_float` and the DequantizeLinear output takes `<name>`. With `uses`, only those inputs read it
 *    (a reused output, or a float override read by a GEMM: the graph output and other readers stay float).
 *    High-precision and float values get no Q/DQ of their own.
 * 3. Weights: each group's constant weight (also one behind Identity) becomes an initializer `<w>_quantized` of
 *    the group's weight type (weightDtypeOf: int8, scales `amax_c / 127.5`; int16, `amax_c / 32767.5`) per channel
 *    along `weightAxis` (one scale for a weight of rank < 2), read through `DequantizeLinear(axis = weightAxis)`;
 *    one DequantizeLinear per group, right before it.
 * 4. Biases: int32 at `s_in · s_w[c]` (`s_in` the scale of the group's quantized input; `s_w` the weight's scales,
 *    or the second operand's scale when both operands are activations), times 2^DOUBLE_INT16_ACC_SHIFT when both
 *    the input and the weight are int16 (the integer GEMM's accumulator scale, integer-ops.ts), saturated, through a DequantizeLinear
 *    along the bias's channel axis (its last axis; the only one of a 1-D bias). A bias whose input is float, or
 *    whose channels do not match the weight's, stays float.
 * 5. `weightsOnly`: step 3 alone.
 * 6. Float initializers and Identity nodes left unused are removed; value_info entries of renamed or removed values
 *    are dropped.
 * The original plan's Values and Nodes are mapped onto the copy by identity (see `cloneMapped`), so names need not
 * be unique. Same inputs give the same model, byte for byte.
 */
export function exportQdq(prepared: Model, qparams: QParamsLookup, options: ExportQdqOptions = {}): ExportQdqResult {
  const plan = quantPlanOf(prepared);
  const clone = cloneMapped(prepared);
  const model = clone.model;
  upgradeOpset(model, Math.max(model.opset, qdqOpsetFloor(plan, options)));
  const exporter = new QdqExporter(model, plan, qparams, clone.values, clone.nodes);
  if (!(options.weightsOnly ?? false)) exporter.quantizeActivations();
  exporter.quantizeWeights();
  if (!(options.weightsOnly ?? false)) exporter.quantizeBiases();
  exporter.cleanUp();
  verifyModel(model, 'qat.onnx');
  return { model, twins: exporter.twins };
}

/** 21 when the export writes an int16 Q/DQ pair, else 13 (see exportQdq, case 1). */
function qdqOpsetFloor(plan: QuantPlan, options: ExportQdqOptions): number {
  for (const group of plan.groups) if (group.weight && weightDtypeOf(plan, group) === 'qint16') return QDQ_OPSET;
  if (options.weightsOnly ?? false) return QDQ_MIN_INT8_OPSET;
  for (const quant of plan.activations.values()) {
    if (quant.dtype !== 'qint16') continue;
    const original = quant.value;
    const skipped =
      quant.uses === undefined && (plan.float.has(original) || plan.highPrecision.has(original));
    if (!skipped) return QDQ_OPSET;
  }
  return QDQ_MIN_INT8_OPSET;
}

/** A zero point of each activation type: its typed array gives the QuantizeLinear output its dtype. */
const ZERO_POINT = {
  qint8: () => new Int8Array(1),
  qint16: () => new Int16Array(1),
} as const;

/** Zero points of `n` channels of each weight type. */
const ZERO_POINTS = {
  qint8: (n: number) => new Int8Array(n),
  qint16: (n: number) => new Int16Array(n),
} as const;

interface QuantizedWeight {
  readonly quantized: Value;
  readonly scale: Value;
  readonly zeroPoint: Value;
  readonly scales: Float32Array;
  readonly axis: number | undefined;
}

class QdqExporter {
  readonly twins: QdqTwin[] = [];
  private readonly names: NameScope;
  private readonly elemTypes: Map<Value, number>;
  /** Last node inserted after a producer (or at the top of a graph), so pairs keep the plan's order. */
  private readonly cursor = new Map<Node | Graph, Node>();
  /** DequantizeLinear outputs of activations → their scale, for the biases. */
  private readonly activationScale = new Map<Value, number>();
  private readonly activationDtype = new Map<Value, ActivationDtype>();
  private readonly weightScales = new Map<GemmGroup, Float32Array>();
  /** Per constant: its quantized copies by `axis/dtype`. */
  private readonly weightCache = new Map<Value, Map<string, QuantizedWeight>>();
  /** Constants whose readers were switched to integer copies: removed at the end if nothing else reads them. */
  private readonly replaced: ConstantSource[] = [];
  /** Values renamed or removed: their value_info declarations go. */
  private readonly touched = new Set<Value>();

  constructor(
    private readonly model: Model,
    private readonly plan: QuantPlan,
    private readonly qparams: QParamsLookup,
    private readonly values: ReadonlyMap<Value, Value>,
    private readonly nodes: ReadonlyMap<Node, Node>,
  ) {
    this.names = new NameScope(model);
    this.elemTypes = inferElemTypes(model.graph);
  }

  quantizeActivations(): void {
    for (const quant of this.plan.activations.values()) {
      const original = quant.value;
      // A float or high-precision value keeps its float tensor; only a `uses` copy (for GEMM readers) is quantized.
      if (quant.uses === undefined && (this.plan.float.has(original) || this.plan.highPrecision.has(original)))
        continue;
      const value = this.value(original);
      const graph = value.graph!;
      const readers =
        quant.uses === undefined
          ? value.uses()
          : quant.uses.map((use) => {
              const node = this.node(use.node);
              if (node.inputs[use.index] !== value) {
                throw planError(
                  `the plan says ${node.describe()} input ${use.index} reads ${original.name}, but it does not`,
                );
              }
              return { node, index: use.index };
            });
      const toOutput = quant.uses === undefined && value.isGraphOutput() && !value.isGraphInput();
      if (readers.length === 0 && !toOutput) continue;

      const elemType = this.elemTypes.get(value);
      if (elemType !== undefined && elemType !== DataType.FLOAT) {
        throw new QuantkitError(
          'QK_UNSUPPORTED',
          `Tensor ${original.name} is ${dtypeName(elemType)}; qat.onnx quantizes float32 tensors only.`,
          {
            subject: original.name,
            hint: 'Export the float model in float32, or keep this tensor float with an override.',
          },
        );
      }
      const scale = this.scaleOf(quant);
      const name = original.name;
      const scaleValue = this.initializer(`${name}_scale`, Tensor.fromArray(new Float32Array([scale]), []));
      const zeroPoint = this.initializer(`${name}_zero_point`, Tensor.fromArray(ZERO_POINT[quant.dtype](), []));
      const quantized = new Value(this.names.unique(`${name}_quantized`));
      let output: Value;
      if (toOutput) {
        // The graph output's name is the model's interface: the dequantized copy takes it over.
        value.name = this.names.unique(`${name}_float`);
        this.touched.add(value);
        output = new Value(name, { type: value.type });
      } else {
        output = new Value(this.names.unique(`${name}_dequantized`));
      }
      const quantize = new Node({
        opType: 'QuantizeLinear',
        name: this.names.unique(`${name}_QuantizeLinear`),
        inputs: [value, scaleValue, zeroPoint],
        outputs: [quantized],
      });
      const dequantize = new Node({
        opType: 'DequantizeLinear',
        name: this.names.unique(`${name}_DequantizeLinear`),
        inputs: [quantized, scaleValue, zeroPoint],
        outputs: [output],
      });
      this.insertAfterProducer(value, graph, [quantize, dequantize]);
      for (const { node, index } of readers) node.setInput(index, output);
      if (toOutput) graph.outputs.forEach((v, i) => v === value && (graph.outputs[i] = output));
      this.activationScale.set(output, scale);
      this.activationDtype.set(output, quant.dtype);
      this.twins.push({ float: name, quantized: output.name });
    }
  }

  quantizeWeights(): void {
    for (const group of this.plan.groups) {
      if (!group.weight) continue;
      const node = this.node(group.node);
      const weight = this.value(group.weight);
      const source = constantSource(weight);
      if (!source) continue;
      const indices = inputIndices(node, weight);
      if (indices.length === 0)
        throw planError(`the weight ${group.weight.name} of ${node.describe()} is not one of its inputs`);
      const quantized = this.quantizedWeight(source, group.weightAxis, weightDtypeOf(this.plan, group), node);
      const output = new Value(this.names.unique(`${source.value.name}_dequantized`));
      const dequantize = new Node({
        opType: 'DequantizeLinear',
        name: this.names.unique(`${source.value.name}_DequantizeLinear`),
        inputs: [quantized.quantized, quantized.scale, quantized.zeroPoint],
        outputs: [output],
        attributes: quantized.axis === undefined ? {} : { axis: quantized.axis },
      });
      node.graph!.insertBefore(node, dequantize);
      for (const index of indices) node.setInput(index, output);
      this.replaced.push(source);
      this.weightScales.set(group, quantized.scales);
    }
  }

  quantizeBiases(): void {
    for (const group of this.plan.groups) {
      if (!group.bias) continue;
      const node = this.node(group.node);
      const reader = group.biasAdd ? this.node(group.biasAdd) : node;
      const bias = this.value(group.bias);
      const source = constantSource(bias);
      if (!source) continue;
      const indices = inputIndices(reader, bias);
      if (indices.length === 0) throw planError(`the bias ${group.bias.name} is not an input of ${reader.describe()}`);
      const inputScale = this.readScale(group, node, group.input);
      const weightScales =
        this.weightScales.get(group) ??
        (group.input2 ? scalarOrUndefined(this.readScale(group, node, group.input2)) : undefined);
      if (inputScale === undefined || weightScales === undefined) continue;
      const doubleInt16 =
        this.weightScales.has(group) &&
        weightDtypeOf(this.plan, group) === 'qint16' &&
        this.readDtype(group, node, group.input) === 'qint16';
      const accScale = doubleInt16 ? inputScale * 2 ** DOUBLE_INT16_ACC_SHIFT : inputScale;
      const scales = biasScales(source.tensor.dims, accScale, weightScales, group.kind === 'ConvTranspose');
      if (!scales) continue;
      if (source.tensor.dtype !== DataType.FLOAT) {
        throw new QuantkitError(
          'QK_UNSUPPORTED',
          `Bias ${source.value.name} is ${dtypeName(source.tensor.dtype)}; qat.onnx quantizes float32 biases only.`,
          { subject: source.value.name },
        );
      }
      const base = source.value.name;
      const data = source.tensor.toFloat32();
      const q = new Int32Array(data.length);
      const { qmin, qmax } = QRANGE.qint32;
      const perChannel = scales.length > 1;
      const axis = perChannel ? source.tensor.dims.length - 1 : undefined;
      const write = (channel: number, start: number, end: number) => {
        // float64 quotient: a float32 one would lose integer precision long before int32 saturates.
        const s = scales[channel]!;
        for (let i = start; i < end; i++) {
          const r = roundHalfEven(data[i]! / s);
          q[i] = r < qmin ? qmin : r > qmax ? qmax : r;
        }
      };
      if (axis === undefined) write(0, 0, data.length);
      else forEachChannelRun(channelLayout(source.tensor.dims, axis), write);
      const quantized = this.initializer(`${base}_quantized`, Tensor.fromArray(q, source.tensor.dims));
      const scaleDims = perChannel ? [scales.length] : [];
      const scale = this.initializer(`${base}_scale`, Tensor.fromArray(scales, scaleDims));
      const zeroPoint = this.initializer(
        `${base}_zero_point`,
        Tensor.fromArray(new Int32Array(scales.length), scaleDims),
      );
      const output = new Value(this.names.unique(`${base}_dequantized`));
      const dequantize = new Node({
        opType: 'DequantizeLinear',
        name: this.names.unique(`${base}_DequantizeLinear`),
        inputs: [quantized, scale, zeroPoint],
        outputs: [output],
        attributes: axis === undefined ? {} : { axis },
      });
      reader.graph!.insertBefore(reader, dequantize);
      for (const index of indices) reader.setInput(index, output);
      this.replaced.push(source);
    }
  }

  /** Drops the float constants nothing reads any more, and value_info entries that no longer describe a value. */
  cleanUp(): void {
    for (const source of this.replaced) {
      for (const identity of [...source.identities].reverse()) {
        const out = identity.outputs[0]!;
        if (identity.graph && out.useCount === 0 && !out.isGraphOutput()) {
          identity.graph.remove(identity);
          this.touched.add(out);
        }
      }
      const value = source.value;
      if (value.useCount > 0 || value.isGraphOutput()) continue;
      if (value.isInitializer() && !value.isGraphInput()) {
        value.graph!.removeInitializer(value);
        this.touched.add(value);
      } else {
        const producer = value.producer();
        if (producer?.graph && producer.opType === 'Constant') {
          producer.graph.remove(producer);
          this.touched.add(value);
        }
      }
    }
    pruneValueInfos(this.model.graph, this.touched);
  }

  private quantizedWeight(source: ConstantSource, weightAxis: number, dtype: WeightDtype, node: Node): QuantizedWeight {
    const { tensor, value } = source;
    if (tensor.dtype !== DataType.FLOAT) {
      throw new QuantkitError(
        'QK_UNSUPPORTED',
        `Weight ${value.name} of ${node.describe()} is ${dtypeName(
          tensor.dtype,
        )}; qat.onnx quantizes float32 weights only.`,
        { subject: value.name },
      );
    }
    const dims = tensor.dims;
    const rank = dims.length;
    if (rank >= 2 && (weightAxis < -rank || weightAxis >= rank)) {
      throw planError(`weight axis ${weightAxis} is out of range for ${value.name} (dims [${dims.join(', ')}])`);
    }
    // A weight of rank < 2 has no output-channel axis: one scale for all of it.
    const axis = rank >= 2 ? (weightAxis < 0 ? weightAxis + rank : weightAxis) : undefined;
    const byAxis = this.weightCache.get(value) ?? new Map<string, QuantizedWeight>();
    this.weightCache.set(value, byAxis);
    const key = `${axis ?? 'none'}/${dtype}`;
    const cached = byAxis.get(key);
    if (cached) return cached;

    const data = tensor.toFloat32();
    const amax = axis === undefined ? new Float32Array([absMaxPerTensor(data)]) : absMaxPerChannel(data, dims, axis);
    const bad = amax.findIndex((a) => !Number.isFinite(a));
    if (bad >= 0) {
      throw new QuantkitError(
        'QK_TENSOR_DATA',
        `Weight ${value.name} of ${node.describe()} holds NaN or Infinity${
          axis === undefined ? '' : ` (channel ${bad})`
        }.`,
        { subject: value.name, hint: 'Fix the float model: its weights must be finite.' },
      );
    }
    // scaleFromAmax floors at MIN_SCALE, so an all-zero channel gets a usable scale, not 0.
    const scales = Float32Array.from(amax, (a) => scaleFromAmax(a, dtype));
    const q = dtype === 'qint8' ? new Int8Array(data.length) : new Int16Array(data.length);
    const { qmin, qmax } = QRANGE[dtype];
    const write = (channel: number, start: number, end: number) => {
      const s = scales[channel]!;
      // quantizeValue inlined (weights run to millions of elements): float32 quotient, ties to even, saturate.
      for (let i = start; i < end; i++) {
        const r = roundHalfEven(Math.fround(data[i]! / s));
        q[i] = r < qmin ? qmin : r > qmax ? qmax : r;
      }
    };
    if (axis === undefined) write(0, 0, data.length);
    else forEachChannelRun(channelLayout(dims, axis), write);
    const scaleDims = axis === undefined ? [] : [scales.length];
    const base = byAxis.size === 0 ? value.name : `${value.name}_axis${axis ?? 'none'}${dtype === 'qint8' ? '' : `_${dtype}`}`;
    const result: QuantizedWeight = {
      quantized: this.initializer(`${base}_quantized`, Tensor.fromArray(q, dims)),
      scale: this.initializer(`${base}_scale`, Tensor.fromArray(scales, scaleDims)),
      zeroPoint: this.initializer(`${base}_zero_point`, Tensor.fromArray(ZERO_POINTS[dtype](scales.length), scaleDims)),
      scales,
      axis,
    };
    byAxis.set(key, result);
    return result;
  }

  /** The scale of an activation, following `shareWith` to the value whose statistics it reuses. */
  private scaleOf(quant: ActivationQuant): number {
    let source: Value = quant.value;
    const seen = new Set<Value>([source]);
    for (let q: ActivationQuant | undefined = quant; q?.shareWith; q = this.plan.activations.get(source)) {
      source = q.shareWith;
      if (seen.has(source)) throw planError(`the activations sharing a scale with ${quant.value.name} form a cycle`);
      seen.add(source);
    }
    const params = this.qparams(source);
    const shared = source === quant.value ? '' : ` (whose scale ${quant.value.name} shares)`;
    if (!params) {
      throw new QuantkitError('QK_CALIB_DATA', `No calibration statistics for tensor ${source.name}${shared}.`, {
        subject: source.name,
        hint: 'Calibrate the prepared model (calibrate) and pass its results to exportQdq; a calib.json from another model or plan does not fit.',
      });
    }
    if (params.scale.length !== 1) {
      throw new QuantkitError(
        'QK_CALIB_DATA',
        `Tensor ${source.name}${shared} has ${params.scale.length} scales; activations are quantized per tensor.`,
        { subject: source.name },
      );
    }
    // A shared scale recorded for another type keeps its range: the scale follows from the same amax.
    if (params.dtype !== quant.dtype && params.amax.length === 1) return scaleFromAmax(params.amax[0]!, quant.dtype);
    if (params.dtype !== quant.dtype) {
      throw new QuantkitError(
        'QK_CALIB_DATA',
        `Tensor ${source.name}${shared} was calibrated as ${params.dtype}, but the plan quantizes it as ${quant.dtype}.`,
        { subject: source.name },
      );
    }
    return params.scale[0]!;
  }

  /**
   * The scale of what a group's node now reads where the plan's `input` was: defined when that is the output of an
   * activation's DequantizeLinear, undefined when the node still reads float.
   */
  private readScale(group: GemmGroup, node: Node, input: Value): number | undefined {
    const read = node.inputs[group.node.inputs.indexOf(input)];
    return read ? this.activationScale.get(read) : undefined;
  }

  /** The activation type of what a group's node reads where the plan's `input` was (see readScale). */
  private readDtype(group: GemmGroup, node: Node, input: Value): ActivationDtype | undefined {
    const read = node.inputs[group.node.inputs.indexOf(input)];
    return read ? this.activationDtype.get(read) : undefined;
  }

  private insertAfterProducer(value: Value, graph: Graph, added: Node[]): void {
    const producer = value.producer();
    const key: Node | Graph = producer ?? graph;
    let previous = this.cursor.get(key) ?? producer;
    for (const node of added) {
      if (previous) (previous.graph ?? graph).insertAfter(previous, node);
      else {
        const first = graph.nodes()[0];
        if (first) graph.insertBefore(first, node);
        else graph.append(node);
      }
      previous = node;
    }
    this.cursor.set(key, previous!);
  }

  private initializer(base: string, tensor: Tensor): Value {
    return this.model.graph.addInitializer(new Value(this.names.unique(base)), tensor);
  }

  private value(original: Value): Value {
    const value = this.values.get(original);
    if (!value) throw planError(`tensor ${original.name} is not in the prepared model`);
    return value;
  }

  private node(original: Node): Node {
    const node = this.nodes.get(original);
    if (!node) throw planError(`node ${original.describe()} is not in the prepared model`);
    return node;
  }
}

function planError(what: string): QuantkitError {
  return new QuantkitError('QK_IR_MISUSE', `The quantization plan does not match the model: ${what}.`, {
    hint: 'Pass the model prepare() returned, unchanged since, with its plan.',
  });
}

function inputIndices(node: Node, value: Value): number[] {
  const indices: number[] = [];
  node.inputs.forEach((input, i) => input === value && indices.push(i));
  return indices;
}

function scalarOrUndefined(scale: number | undefined): Float32Array | undefined {
  return scale === undefined ? undefined : new Float32Array([scale]);
}

/**
 * `s_in · s_w[c]` per channel of a bias of `dims` (channels along its last axis), or undefined when the bias's
 * channels do not line up with the weight's. ConvTranspose with groups has `C_out / group` weight scales for
 * `C_out` bias channels: channel c uses scale c mod (C_out / group).
 */
function biasScales(
  dims: readonly number[],
  inputScale: number,
  weightScales: Float32Array,
  tiled: boolean,
): Float32Array | undefined {
  if (weightScales.length === 1) return new Float32Array([inputScale * weightScales[0]!]);
  const channels = dims[dims.length - 1];
  if (channels === undefined) return undefined;
  const lined = channels === weightScales.length || (tiled && channels % weightScales.length === 0);
  if (!lined) return undefined;
  return Float32Array.from({ length: channels }, (_, c) => inputScale * weightScales[c % weightScales.length]!);
}

/** Keeps the value_info declarations of values still defined and not renamed or removed here. */
function pruneValueInfos(graph: Graph, touched: ReadonlySet<Value>): void {
  const defined = new Set<Value>([...graph.inputs, ...graph.initializers.values(), ...graph.sparseInitializers]);
  for (const node of graph) {
    for (const value of node.outputs) defined.add(value);
    for (const subgraph of node.subgraphs()) pruneValueInfos(subgraph, touched);
  }
  const kept = graph.valueInfos.filter((value) => defined.has(value) && !touched.has(value));
  graph.valueInfos.splice(0, graph.valueInfos.length, ...kept);
}
