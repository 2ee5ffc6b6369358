import { stringAttribute } from '../convert/integer-nodes.js';
import { lowerQdq } from '../convert/lower-qdq.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import { isFloatType } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { INTEGER_DOMAIN, type Unit } from '../integer/integer-ops.js';
import type { March } from '../march/march.js';
import { opTrait } from '../ops/op-traits.js';
import { inferShapes, product, type Shape } from './infer-shapes.js';
import { paramRows, type DeepPartial, type ParamRow, type PerfParams } from './perf-params.js';
import { resolvePerfParams } from './resolve-params.js';
import { bytesPerElement, valueTypes } from './value-types.js';

export interface PerfOptions {
  /** A chip of the march ('J6M', 'J6P', …); default: the march's default chip. */
  chip?: string;
  /** Numbers that replace the chip's (validated, deep-merged; unknown keys are errors). */
  params?: DeepPartial<PerfParams>;
  /** Shapes by value name (from inferShapesByRunning, say); they win over static inference. */
  shapes?: ReadonlyMap<string, readonly number[]>;
  /** A name for the model in the report (e.g. 'float-output' in a comparison). */
  variant?: string;
  /**
   * Quantize every graph input on the host CPU, as for float feature inputs. Default false: the quantize of an
   * image input (4-D, 3 channels) runs on the BPU, as Horizon feeds images straight into it.
   */
  cpuInputQuantize?: boolean;
}

/** What an op costs in the model, and why. */
export type OpKind =
  | 'gemm'
  | 'quantize'
  | 'dequantize'
  | 'rescale'
  | 'float-island'
  | 'data-movement'
  | 'view'
  | 'cpu-gemm'
  | 'cpu-float';

export interface OpEstimate {
  name: string;
  opType: string;
  kind: OpKind;
  unit: Unit;
  /** e.g. 'int8×int8→int32' for GEMMs, 'int32→float32' for a Dequantize. */
  dtypes: string;
  outputShape: number[] | null;
  /** False when a shape was unknown: the op has no estimate and counts in no total. */
  estimated: boolean;
  macs: number;
  /**
   * DDR traffic of the op's layer (on a layer head; 0 on a fused op): weights, and the activations that cross the
   * layer's boundary and do not stay on chip, at their dtypes.
   */
  ddrBytes: number;
  bytes: { inputs: number; weights: number; outputs: number };
  computeUs: number;
  memoryUs: number;
  overheadUs: number;
  /** max(compute, memory) + overhead. */
  latencyUs: number;
  bound: 'compute' | 'memory' | 'none';
  /** The GEMM layer whose output stage computes this op (it then costs nothing of its own), or null. */
  fusedInto: string | null;
}

/** A graph output and what the host pays to turn it into float32. */
export interface OutputEstimate {
  name: string;
  /** Where the tensor is computed: on the NPU (and handed to the host), or by a CPU fallback. */
  from: 'npu' | 'cpu';
  /** The dtype in which it leaves the NPU (int32 for a nash-m high-precision output, float32 for nash-h). */
  dtype: string;
  elements: number;
  /** The host's C++ dequantize of this output; 0 when it leaves the NPU as float32. */
  cpuDequantizeUs: number;
  /** The CPU Dequantize node that does it, or null when the graph hands out the integers (counted here). */
  node: string | null;
}

export interface PerfTotals {
  /** Everything, one op after another: NPU + CPU. */
  latencyUs: number;
  npuUs: number;
  bpuUs: number;
  vpuUs: number;
  /** CPU ops, including the dequantize of the outputs. */
  cpuUs: number;
  /** The part of cpuUs that dequantizes the integer outputs (the seed's "C++ dequantize"). */
  cpuDequantizeUs: number;
  macs: number;
  ddrBytes: number;
}

export interface PerfReport {
  /** Always true: these numbers come from a cost model, not from a board. */
  estimate: true;
  disclaimer: string;
  march: string;
  chip: string;
  variant?: string;
  /** The graph inputs and the shapes the estimate used (null: unknown). */
  inputs: { name: string; shape: number[] | null }[];
  ops: OpEstimate[];
  outputs: OutputEstimate[];
  totals: PerfTotals;
  /** The numbers used, each with its public source or marked as an assumption (or as overridden). */
  params: ParamRow[];
  /** Ops without an estimate because a shape was unknown. */
  unknownShapes: string[];
  /** Constant / shape ops the compiler folds away: no cost. */
  folded: string[];
  notes: string[];
}

export const PERF_DISCLAIMER =
  'Every number is an estimate from a cost model, not a measurement: the model follows what the compiler does ' +
  '(output stages fused into GEMM layers, small activations kept on chip, a fixed cost per layer, layers one after ' +
  'another), with public peak figures and assumptions fitted to the latencies Horizon publishes. Use it to compare ' +
  'variants, and measure on the board before deciding.';

const VIEW_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);
const GEMM_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
/** Element-wise ops a GEMM's output stage computes: activations, scale-shift, a residual operand. */
const OUTPUT_STAGE_OPS = new Set([
  'Relu', 'Clip', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Elu', 'Selu', 'Softplus', 'Gelu',
  'Erf', 'Mish', 'Swish', 'Add', 'Sub', 'Mul', 'Div', 'BatchNormalization', 'Neg', 'Abs',
]);
const US = 1e6;

/**
 * perf (DESIGN §8): a per-layer latency estimate of a quantized model on a march's chip, following what the
 * compiler makes of the graph rather than costing every ONNX op as a pass through DDR.
 *
 * 1. The model is integer IR (quantized.onnx), or a QDQ model (qat.onnx), which is read as integer ops through
 *    lowerQdq — without the march's convert passes, so the report says to run convert for the exact lowering.
 *    A float model is refused (perfModel prepares and converts one).
 * 2. Units: a node's `unit` attribute; without one, Quantize / Dequantize follow lowerQdq's rule (at a graph input
 *    or output: CPU) — except the Quantize of an image input (4-D, 3 channels), which runs on the BPU, as Horizon
 *    feeds images straight into it (`cpuInputQuantize` keeps it on the CPU, for float feature inputs); quantkit
 *    GEMMs run on the BPU, VPU islands on the VPU; standard ops on integer tensors move data on the VPU
 *    (Reshape-like views cost nothing), standard ops on float tensors are CPU fallbacks.
 * 3. Fusion: the pattern is found here, on the graph as given. A GEMM starts a layer; a Rescale (an Epilogue or a
 *    ScaleShift counts as one), a BPU / VPU Quantize or Dequantize, a view, or an element-wise op of
 *    OUTPUT_STAGE_OPS (activation, scale-shift, BatchNormalization, a residual Add) joins the layer of one of its inputs' producers when its output has the
 *    GEMM's element count and its other inputs do not depend on that layer (so a squeeze-excite Mul, which needs
 *    the whole tensor pooled first, stays a layer of its own). A fused op costs nothing of its own: its row shows
 *    `fusedInto`, and its extra operands' traffic is the layer's.
 * 4. On-chip activations: a tensor of at most `sram.activationBytes` that is neither a graph input or output nor
 *    read or written by a CPU op stays on chip; every other tensor crossing a layer boundary is written to DDR
 *    once and read once per reading layer. Weights are read from DDR once.
 * 5. Per layer: MACs (Conv: N·Cout·Πout·(Cin/group)·Πkernel; MatMul / Gemm: outputs · K), compute (MACs at the
 *    dtype pair's peak rate × `gemmEfficiency`, a Conv with c < `reductionLanes` input channels per group at
 *    c / lanes of it, plus the float32 output stage; a standalone op's elements at its unit's rate), memory
 *    (DDR bytes / bandwidth); latency = max(compute, memory) + the unit's fixed cost per layer. int16 activations
 *    pay the int16 MAC rate and twice the bytes, so they never cost less than int8.
 * 6. Outputs: a graph output that leaves the NPU as an integer is dequantized by the host — by its CPU Dequantize
 *    node, or, when the graph hands out the integers, at the CPU dequantize rate added here; float32 costs nothing.
 * 7. Totals sum the layers (and the added output dequantizes): the model assumes no overlap.
 */
export function perf(model: Model, march: March, options: PerfOptions = {}): PerfReport {
  const { chip, params } = resolvePerfParams(march, { chip: options.chip, params: options.params });
  const notes: string[] = [];
  const integer = integerModel(model, notes);
  const { graph } = integer;
  const types = valueTypes(graph);
  const shapes = inferShapes(graph, toShapes(options.shapes));
  const folded: string[] = [];
  const nodes: Node[] = [];
  for (const node of graph) {
    if (isFolded(node)) {
      folded.push(node.name || node.opType);
      continue;
    }
    checkCapability(node, march);
    nodes.push(node);
  }
  const context: Context = { types, shapes, params, cpuInputQuantize: options.cpuInputQuantize ?? false, units: new Map(), kinds: new Map() };
  for (const node of nodes) {
    const kind = kindOf(node, types);
    context.kinds.set(node, kind);
    context.units.set(node, unitOf(node, kind, context));
  }
  const layers = fuse(nodes, context);
  const ops: OpEstimate[] = [];
  const byNode = new Map<Node, OpEstimate>();
  const unknownShapes: string[] = [];
  for (const node of nodes) {
    const estimate = estimateOp(node, layers, context);
    if (!estimate.estimated) unknownShapes.push(estimate.name);
    ops.push(estimate);
    byNode.set(node, estimate);
  }
  const outputs = graph.outputs.map((value) => outputEstimate(value, { ...context, byNode })).filter((o) => o !== undefined);
  return {
    estimate: true,
    disclaimer: PERF_DISCLAIMER,
    march: march.name,
    chip: chip.chip,
    ...(options.variant !== undefined ? { variant: options.variant } : {}),
    inputs: graph.inputs.map((v) => ({ name: v.name, shape: shapes.has(v) ? [...shapes.get(v)!] : null })),
    ops,
    outputs,
    totals: totalsOf(ops, outputs),
    params: paramRows(chip, params),
    unknownShapes,
    folded,
    notes,
  };
}

function toShapes(shapes: ReadonlyMap<string, readonly number[]> | undefined): Map<string, Shape> {
  return new Map(shapes ?? []);
}

function integerModel(model: Model, notes: string[]): Model {
  const nodes = [...model.graph];
  if (nodes.some((n) => n.domain === INTEGER_DOMAIN)) return model;
  if (nodes.some((n) => isStandard(n) && (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear'))) {
    notes.push(
      'A QDQ model: estimated on the integer ops its Q/DQ pairs describe (lowerQdq), without the march\'s convert passes; ' +
        'estimate the converted model (quantkit perf on qat.onnx converts it) for the exact lowering.',
    );
    return lowerQdq(model).model;
  }
  throw new QuantkitError('QK_UNSUPPORTED', `${model.graph.name ? `Model '${model.graph.name}'` : 'The model'} is a float model: perf estimates quantized models.`, {
    hint: 'Give perf a qat.onnx (from `quantkit calibrate`) or a quantized.onnx (from `convert`).',
  });
}

function isStandard(node: Node): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

function isFolded(node: Node): boolean {
  return isStandard(node) && opTrait(node.opType) === 'shape';
}

function checkCapability(node: Node, march: March): void {
  if (node.domain !== INTEGER_DOMAIN || !GEMM_OPS.has(node.opType)) return;
  const out = stringAttribute(node, 'out_dtype');
  if (out !== undefined && !(march.capabilities.gemmOutputs as readonly string[]).includes(out)) {
    throw new QuantkitError('QK_UNSUPPORTED', `${node.describe()} emits ${out}, which ${march.name} GEMM-like ops cannot: the model was not converted for ${march.name}.`, {
      subject: node.name,
      hint: `Convert the qat.onnx for ${march.name} (quantkit perf on the qat.onnx does), or choose the march it was converted for.`,
    });
  }
}

interface Context {
  types: Map<Value, number>;
  shapes: Map<Value, Shape>;
  params: PerfParams;
  cpuInputQuantize: boolean;
  units: Map<Node, Unit>;
  kinds: Map<Node, OpKind>;
}

function kindOf(node: Node, types: Map<Value, number>): OpKind {
  if (node.domain === INTEGER_DOMAIN) {
    if (node.opType === 'Quantize') return 'quantize';
    if (node.opType === 'Dequantize') return 'dequantize';
    // An Epilogue is the GEMM's output stage and a ScaleShift a per-channel requantization: both cost as a Rescale.
    if (node.opType === 'Rescale' || node.opType === 'Epilogue' || node.opType === 'ScaleShift') return 'rescale';
    if (node.opType === 'Lut') return 'data-movement';
    return GEMM_OPS.has(node.opType) ? 'gemm' : 'float-island';
  }
  const standard = isStandard(node);
  if (standard && node.opType === 'QuantizeLinear') return 'quantize';
  if (standard && node.opType === 'DequantizeLinear') return 'dequantize';
  if (standard && VIEW_OPS.has(node.opType)) return 'view';
  const data = types.get(node.inputs[0]!) ?? types.get(node.outputs[0]!);
  if (data !== undefined && !isFloatType(data)) return 'data-movement';
  return standard && GEMM_OPS.has(node.opType) ? 'cpu-gemm' : 'cpu-float';
}

/** A node's unit: its attribute, else the rule of lowerQdq's assignUnits and DESIGN §7 (see perf, case 2). */
function unitOf(node: Node, kind: OpKind, context: Context): Unit {
  const { types } = context;
  const attribute = stringAttribute(node, 'unit');
  if (kind === 'quantize' && !context.cpuInputQuantize && isImageInput(node.inputs[0], context.shapes)) return 'bpu';
  if (attribute === 'bpu' || attribute === 'vpu' || attribute === 'cpu') return attribute;
  switch (kind) {
    case 'gemm':
    case 'rescale':
      return 'bpu';
    case 'float-island':
    case 'data-movement':
      return 'vpu';
    case 'cpu-gemm':
    case 'cpu-float':
      return 'cpu';
    case 'quantize': {
      const input = node.inputs[0];
      return input === undefined || input.isGraphInput() || input.isGraphOutput() || isCpuProducer(input, types) ? 'cpu' : 'vpu';
    }
    case 'dequantize': {
      const output = node.outputs[0]!;
      return output.isGraphOutput() || output.uses().some((use) => isCpuNode(use.node, types)) ? 'cpu' : 'vpu';
    }
    case 'view': {
      const data = types.get(node.inputs[0]!);
      return data === DataType.FLOAT ? 'cpu' : 'vpu';
    }
  }
}

/** An image: a 4-D graph input with 3 channels (NCHW or NHWC). */
function isImageInput(value: Value | undefined, shapes: Map<Value, Shape>): boolean {
  if (value === undefined || !value.isGraphInput()) return false;
  const shape = shapes.get(value);
  return shape !== undefined && shape.length === 4 && (shape[1] === 3 || shape[3] === 3);
}

function isCpuNode(node: Node, types: Map<Value, number>): boolean {
  const kind = kindOf(node, types);
  return stringAttribute(node, 'unit') === 'cpu' || kind === 'cpu-gemm' || kind === 'cpu-float';
}

function isCpuProducer(value: Value, types: Map<Value, number>): boolean {
  const producer = value.producer();
  return producer !== undefined && isCpuNode(producer, types);
}

/** Layers: each node's layer head (a GEMM, or the node itself when it stands alone). */
type Layers = Map<Node, Node>;

function elementsOf(value: Value | undefined, shapes: Map<Value, Shape>): number | undefined {
  const shape = value === undefined ? undefined : shapes.get(value);
  return shape === undefined ? undefined : product(shape);
}

/** The fusion of perf's case 3: which layer every node belongs to. */
function fuse(nodes: readonly Node[], context: Context): Layers {
  const { shapes, kinds, units } = context;
  const layers: Layers = new Map();
  const ancestors = new Map<Node, Set<Node>>();
  const ancestorsOf = (node: Node): Set<Node> => {
    let set = ancestors.get(node);
    if (set) return set;
    set = new Set();
    for (const input of node.inputs) {
      const producer = input?.producer();
      if (producer === undefined) continue;
      set.add(producer);
      for (const a of ancestorsOf(producer)) set.add(a);
    }
    ancestors.set(node, set);
    return set;
  };
  for (const node of nodes) {
    layers.set(node, node);
    const kind = kinds.get(node)!;
    const unit = units.get(node)!;
    if (kind === 'gemm' || unit === 'cpu') continue;
    const fusable =
      kind === 'view' ||
      kind === 'rescale' ||
      kind === 'quantize' ||
      kind === 'dequantize' ||
      (OUTPUT_STAGE_OPS.has(node.opType) && (kind === 'float-island' || kind === 'data-movement'));
    if (!fusable) continue;
    const out = elementsOf(node.outputs[0], shapes);
    // Candidate layers: those of the inputs' producers, the latest first (a residual Add joins the later GEMM).
    const candidates = node.inputs
      .map((input) => input?.producer())
      .filter((p): p is Node => p !== undefined && layers.has(p))
      .map((p) => layers.get(p)!)
      .filter((head) => kinds.get(head) === 'gemm')
      .sort((a, b) => nodes.indexOf(b) - nodes.indexOf(a));
    for (const head of candidates) {
      if (kind !== 'view' && (out === undefined || out !== elementsOf(head.outputs[0], shapes))) continue;
      const others = node.inputs.filter((input) => {
        const producer = input?.producer();
        return producer !== undefined && layers.get(producer) !== head;
      });
      if (others.some((input) => ancestorsOf(input!.producer()!).has(head))) continue;
      layers.set(node, head);
      break;
    }
  }
  return layers;
}

/** True when `value` crosses DDR (perf's case 4). */
function inDdr(value: Value, bytes: number, context: Context): boolean {
  if (value.isGraphInput() || value.isGraphOutput()) return true;
  const producer = value.producer();
  if (producer !== undefined && context.units.get(producer) === 'cpu') return true;
  if (value.uses().some((use) => context.units.get(use.node) === 'cpu')) return true;
  return bytes > context.params.sram.activationBytes;
}

function emptyEstimate(estimated: boolean) {
  return {
    estimated,
    macs: 0,
    ddrBytes: 0,
    bytes: { inputs: 0, weights: 0, outputs: 0 },
    computeUs: 0,
    memoryUs: 0,
    overheadUs: 0,
    latencyUs: 0,
    bound: 'none' as const,
  };
}

function estimateOp(node: Node, layers: Layers, context: Context): OpEstimate {
  const { types, shapes, params } = context;
  const kind = context.kinds.get(node)!;
  const unit = context.units.get(node)!;
  const name = node.name || `${node.opType}(${node.outputs[0]?.name ?? ''})`;
  const dtypes = dtypeText(node, kind, types);
  const outputShape = shapes.get(node.outputs[0]!);
  const head = layers.get(node)!;
  const base = {
    name,
    opType: node.opType,
    kind,
    unit,
    dtypes,
    outputShape: outputShape ? [...outputShape] : null,
    fusedInto: head === node ? null : head.name || head.opType,
  };
  if (head !== node) return { ...base, ...emptyEstimate(true) };
  const members = [...layers].filter(([, h]) => h === head).map(([n]) => n);
  const inLayer = new Set(members);
  if (kind === 'view') return { ...base, ...emptyEstimate(true) };

  let inputBytes = 0;
  let weightBytes = 0;
  let outputBytes = 0;
  let elements = 0;
  const read = new Set<Value>();
  const written = new Set<Value>();
  // What memory holds for a value: a BPU / VPU Dequantize's output is its integer input, dequantized where read.
  const stored = (value: Value): Value => {
    const producer = value.producer();
    return producer && context.kinds.get(producer) === 'dequantize' && context.units.get(producer) !== 'cpu' && producer.inputs[0]
      ? stored(producer.inputs[0])
      : value;
  };
  const sizeOf = (value: Value) => {
    const shape = shapes.get(value);
    const width = bytesPerElement(types.get(value));
    return shape === undefined || width === undefined ? undefined : { elements: product(shape), bytes: product(shape) * width };
  };
  for (const member of members) {
    for (const input of member.inputs) {
      if (input === undefined || input.name === '') continue;
      const producer = input.producer();
      if (producer !== undefined && inLayer.has(producer)) continue;
      const size = sizeOf(input);
      if (size === undefined) return { ...base, ...emptyEstimate(false) };
      if (member === node) elements = Math.max(elements, size.elements);
      const memory = unit === 'cpu' ? input : stored(input);
      if (read.has(memory)) continue;
      read.add(memory);
      const bytes = memory === input ? size.bytes : sizeOf(memory)?.bytes;
      if (bytes === undefined) return { ...base, ...emptyEstimate(false) };
      if (isConstant(input)) weightBytes += bytes;
      else if (unit === 'cpu' || inDdr(memory, bytes, context)) inputBytes += bytes;
    }
    for (const output of member.outputs) {
      if (output.name === '') continue;
      const size = sizeOf(output);
      if (size === undefined) return { ...base, ...emptyEstimate(false) };
      if (member === node) elements = Math.max(elements, size.elements);
      const leaves = output.isGraphOutput() || output.uses().some((use) => !inLayer.has(use.node));
      if (!leaves) continue;
      const memory = unit === 'cpu' || output.isGraphOutput() ? output : stored(output);
      const producer = memory.producer();
      if (written.has(memory) || producer === undefined || !inLayer.has(producer)) continue;
      written.add(memory);
      const bytes = sizeOf(memory)?.bytes;
      if (bytes === undefined) return { ...base, ...emptyEstimate(false) };
      if (unit === 'cpu' || inDdr(memory, bytes, context)) outputBytes += bytes;
    }
  }
  const macs = kind === 'gemm' || kind === 'cpu-gemm' ? macsOf(node, shapes) : 0;
  if (macs === undefined) return { ...base, ...emptyEstimate(false) };
  let compute: number;
  switch (kind) {
    case 'gemm': {
      const rate = params.bpu.macsPerSecond[macPair(node, types)] * params.bpu.gemmEfficiency * laneUse(node, shapes, params);
      compute = macs / rate;
      if (stringAttribute(node, 'out_dtype') === 'float32') compute += elementsOf(node.outputs[0], shapes)! / params.bpu.float32OutputElementsPerSecond;
      break;
    }
    case 'cpu-gemm':
      compute = macs / params.cpu.macsPerSecond;
      break;
    case 'quantize':
    case 'dequantize':
      compute = elements / (unit === 'cpu' ? params.cpu.elementsPerSecond[kind] : params.vpu.elementsPerSecond[kind]);
      break;
    case 'rescale':
      compute = elements / params.vpu.elementsPerSecond.rescale;
      break;
    case 'float-island':
      compute = elements / (unit === 'cpu' ? params.cpu.elementsPerSecond.float : params.vpu.elementsPerSecond.floatIsland);
      break;
    case 'data-movement':
      compute = elements / (unit === 'cpu' ? params.cpu.elementsPerSecond.float : params.vpu.elementsPerSecond.dataMovement);
      break;
    case 'cpu-float':
      compute = elements / params.cpu.elementsPerSecond.float;
      break;
  }
  const ddrBytes = inputBytes + weightBytes + outputBytes;
  const memory = ddrBytes / params.ddr.bytesPerSecond;
  const overhead = unit === 'bpu' ? params.bpu.opOverheadSeconds : unit === 'vpu' ? params.vpu.opOverheadSeconds : params.cpu.opOverheadSeconds;
  return {
    ...base,
    estimated: true,
    macs,
    ddrBytes,
    bytes: { inputs: inputBytes, weights: weightBytes, outputs: outputBytes },
    computeUs: compute * US,
    memoryUs: memory * US,
    overheadUs: overhead * US,
    latencyUs: (Math.max(compute, memory) + overhead) * US,
    bound: compute >= memory ? 'compute' : 'memory',
  };
}

/** The fraction of the MAC array's reduction lanes a Conv uses: (Cin / group) / lanes when that is below 1. */
function laneUse(node: Node, shapes: Map<Value, Shape>, params: PerfParams): number {
  if (node.opType !== 'Conv') return 1;
  const w = node.inputs[1] && shapes.get(node.inputs[1]);
  const perGroup = w?.[1];
  if (perGroup === undefined) return 1;
  return Math.min(1, perGroup / params.bpu.reductionLanes);
}

function isConstant(value: Value): boolean {
  if (value.constValue !== undefined) return true;
  const producer = value.producer();
  return producer !== undefined && isStandard(producer) && producer.opType === 'Constant';
}

/** MACs of a GEMM-like node; undefined when a shape is unknown. */
export function macsOf(node: Node, shapes: ReadonlyMap<Value, Shape>): number | undefined {
  const x = node.inputs[0] && shapes.get(node.inputs[0]);
  const w = node.inputs[1] && shapes.get(node.inputs[1]);
  const out = shapes.get(node.outputs[0]!);
  if (!x || !w || !out) return undefined;
  switch (node.opType) {
    case 'Conv':
      // Each output element sums (Cin / group) · Πkernel products: the weight's size per output channel.
      return product(out) * product(w.slice(1));
    case 'ConvTranspose':
      // Each input element scatters into (Cout / group) · Πkernel outputs.
      return product(x) * product(w.slice(1));
    case 'MatMul':
      return product(out) * (x.length === 1 ? x[0]! : x[x.length - 1]!);
    case 'Gemm': {
      const transA = node.attribute('transA')?.asNumber() ?? 0;
      return product(out) * (transA ? x[0]! : x[1]!);
    }
    default:
      return undefined;
  }
}

function widthName(elemType: number | undefined): 'int8' | 'int16' {
  return elemType === DataType.INT16 || elemType === DataType.UINT16 ? 'int16' : 'int8';
}

function macPair(node: Node, types: Map<Value, number>): keyof PerfParams['bpu']['macsPerSecond'] {
  const a = widthName(types.get(node.inputs[0]!));
  const b = widthName(types.get(node.inputs[1]!));
  if (a === 'int16' && b === 'int16') return 'int16xint16';
  return a === 'int16' || b === 'int16' ? 'int16xint8' : 'int8xint8';
}

function dtypeText(node: Node, kind: OpKind, types: Map<Value, number>): string {
  const name = (value: Value | undefined) => {
    const t = value === undefined ? undefined : types.get(value);
    return t === undefined ? '?' : dtypeName(t).toLowerCase();
  };
  const out = name(node.outputs[0]);
  if (kind === 'gemm' || kind === 'cpu-gemm') return `${name(node.inputs[0])}×${name(node.inputs[1])}→${out}`;
  return `${name(node.inputs[0])}→${out}`;
}

interface OutputContext extends Context {
  byNode: Map<Node, OpEstimate>;
}

function outputEstimate(value: Value, context: OutputContext): OutputEstimate | undefined {
  const { types, shapes, params, byNode } = context;
  let producer = value.producer();
  while (producer && byNode.get(producer)?.kind === 'view' && producer.inputs[0]) producer = producer.inputs[0].producer();
  if (producer === undefined) return undefined;
  const estimate = byNode.get(producer);
  if (estimate === undefined) return undefined;
  const shape = shapes.get(value);
  const elements = shape ? product(shape) : 0;
  if (estimate.kind === 'dequantize' && estimate.unit === 'cpu') {
    return { name: value.name, from: 'npu', dtype: typeName(types.get(producer.inputs[0]!)), elements, cpuDequantizeUs: estimate.latencyUs, node: estimate.name };
  }
  if (estimate.unit === 'cpu') return { name: value.name, from: 'cpu', dtype: typeName(types.get(value)), elements, cpuDequantizeUs: 0, node: null };
  const elemType = types.get(value);
  const integer = elemType !== undefined && !isFloatType(elemType);
  // The graph hands integers to the host, which must dequantize them: the same C++ loop as a CPU Dequantize.
  const cpuDequantizeUs = integer && shape ? (elements / params.cpu.elementsPerSecond.dequantize + params.cpu.opOverheadSeconds) * US : 0;
  return { name: value.name, from: 'npu', dtype: typeName(elemType), elements, cpuDequantizeUs, node: null };
}

function typeName(elemType: number | undefined): string {
  return elemType === undefined ? '?' : dtypeName(elemType).toLowerCase();
}

function totalsOf(ops: readonly OpEstimate[], outputs: readonly OutputEstimate[]): PerfTotals {
  const sum = (list: readonly OpEstimate[], key: 'latencyUs' | 'macs' | 'ddrBytes') => list.reduce((n, op) => n + op[key], 0);
  const on = (unit: Unit) => ops.filter((op) => op.unit === unit);
  const added = outputs.filter((o) => o.node === null).reduce((n, o) => n + o.cpuDequantizeUs, 0);
  const bpuUs = sum(on('bpu'), 'latencyUs');
  const vpuUs = sum(on('vpu'), 'latencyUs');
  const cpuUs = sum(on('cpu'), 'latencyUs') + added;
  return {
    latencyUs: bpuUs + vpuUs + cpuUs,
    npuUs: bpuUs + vpuUs,
    bpuUs,
    vpuUs,
    cpuUs,
    cpuDequantizeUs: outputs.reduce((n, o) => n + o.cpuDequantizeUs, 0),
    macs: sum(ops, 'macs'),
    ddrBytes: sum(ops, 'ddrBytes'),
  };
}

/** The part of a report that report.json keeps (`quantize` writes it under `perf`): no per-op rows. */
export type PerfSummary = Pick<PerfReport, 'estimate' | 'disclaimer' | 'march' | 'chip' | 'totals' | 'outputs'> & { variant?: string };

export function perfSummary(report: PerfReport): PerfSummary {
  const { estimate, disclaimer, march, chip, totals, outputs, variant } = report;
  return { estimate, disclaimer, march, chip, ...(variant !== undefined ? { variant } : {}), totals, outputs };
}
