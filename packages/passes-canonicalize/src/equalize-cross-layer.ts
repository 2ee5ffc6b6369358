import { type Graph, type Model, type Node, type Pass, type PassContext, type PassResult, type Value } from '@quantkit/core';
import { channelVector, expandChannels, floatConstant, rankOf } from './float-constants.js';
import { GemmWeights } from './gemm-weights.js';
import { addFloatInitializer, isOp, removeIfDead, soleConsumer } from './rewrite.js';

/** Sweeps over all pairs at most; equalization converges in a few on real chains. */
const MAX_SWEEPS = 64;
/** A sweep whose largest |log s| is below this ends the iteration. */
const CONVERGED = 1e-4;

/**
 * equalize-cross-layer (canonicalize, opt-in) — cross-layer equalization (Nagel et al. 2019, "Data-Free
 * Quantization"): where a GEMM's output channel c is read, through ops that commute with a positive per-channel
 * scale, only by the input channel c of a second GEMM, channel c of the first is scaled by 1/s_c and the second's
 * input channel c by s_c. s_c = √(r1_c / r2_c), with r1_c the largest |weight| of the first GEMM's output channel
 * and r2_c that of the second's input channel, makes both ranges √(r1_c·r2_c), so that per-channel int8 weights
 * of both and the per-tensor activation between them lose less. The float function does not change.
 *
 * Cases:
 * 1. GEMM → GEMM: Conv / ConvTranspose into Conv / ConvTranspose, Gemm / MatMul (constant 2-D weight, any
 *    input rank) into Gemm / MatMul; the first's output has one use, is not a graph output, and its channel
 *    count is the second's input channel count. Output channels scale weight and bias of the first GEMM.
 * 2. Between them, any chain of ops that commute with a positive per-channel scale, each output read once
 *    and not a graph output: Relu, LeakyRelu, Clip with a lower bound of 0 (or none) and no upper bound (a
 *    finite upper bound would have to scale per channel, which Clip cannot), Mul by a constant (unchanged),
 *    Add / Sub of a per-channel constant (scaled with the channel), an inference BatchNormalization after a
 *    convolution or a 2-D Gemm / MatMul (its mean and B scale with the channel).
 * 3. Depthwise chains (conv → depthwise conv → conv): the depthwise conv is the second GEMM of one pair and the
 *    first of the next; all pairs are equalized in sweeps until no scale moves by more than 1e-4 (log) or 64
 *    sweeps ran.
 * 4. A channel whose range is 0 on either side keeps s = 1.
 * 5. Left alone: an op between the GEMMs that does not commute with a per-channel scale (HardSwish, Sigmoid,
 *    Clip with an upper bound, a Resize or a pooling), a value with more than one use, a Conv into a Gemm /
 *    MatMul (the channel axis differs), weights that are not constants.
 * New initializers are written for every changed constant (the old ones may be shared) and unused old ones go.
 */
export const equalizeCrossLayer: Pass = {
  info: {
    name: 'equalize-cross-layer',
    phase: 'canonicalize',
    summary: 'cross-layer equalization: rescales channels between two GEMMs so that both weights share one range',
    after: ['fold-batchnorm', 'fuse-activation-patterns', 'fold-affine'],
    optIn: true,
  },
  run(model: Model, context: PassContext): PassResult {
    const graph = model.graph;
    const weights = new Map<Node, GemmWeights>();
    const weightsOf = (node: Node | undefined) => {
      if (!node) return undefined;
      if (!weights.has(node)) {
        const w = GemmWeights.of(node, { anyRank: true });
        if (!w) return undefined;
        weights.set(node, w);
      }
      return weights.get(node);
    };
    const pairs: Pair[] = [];
    for (const node of graph.nodes()) {
      if (node.graph !== graph) continue;
      const pair = findPair(node, weightsOf);
      if (pair) pairs.push(pair);
    }
    if (pairs.length === 0) return { model, modified: false };
    let sweeps = 0;
    for (let moved = Number.POSITIVE_INFINITY; moved > CONVERGED && sweeps < MAX_SWEEPS; sweeps++) {
      moved = 0;
      for (const pair of pairs) moved = Math.max(moved, equalize(pair));
    }
    for (const pair of pairs) rescaleBetween(graph, pair);
    for (const w of weights.values()) w.commit(graph);
    context.diagnose({ level: 'info', message: `equalized ${pairs.length} GEMM pairs in ${sweeps} sweeps` });
    return { model, modified: true };
  },
};

interface Pair {
  readonly first: GemmWeights;
  readonly second: GemmWeights;
  /** The ops between the two GEMMs, in order. */
  readonly between: readonly Node[];
  /** Rank of the first GEMM's output and its channel axis, for per-channel constants between. */
  readonly rank: number;
  readonly axis: number;
  /** The product of all scales applied to the first GEMM's output channels. */
  readonly applied: Float64Array;
}

const CONVOLUTIONS = ['Conv', 'ConvTranspose'];

function findPair(node: Node, weightsOf: (node: Node | undefined) => GemmWeights | undefined): Pair | undefined {
  if (!isOp(node, 'Conv', 'ConvTranspose', 'Gemm', 'MatMul')) return undefined;
  const convolution = CONVOLUTIONS.includes(node.opType);
  const rank = convolution ? constantRank(node) : node.opType === 'Gemm' ? 2 : rankOf(node.input(0));
  if (rank === undefined) return undefined;
  const axis = convolution ? 1 : rank - 1;
  const between: Node[] = [];
  let value: Value = node.output;
  for (;;) {
    const next = soleConsumer(value);
    if (!next || next.graph !== node.graph) return undefined;
    if (isGemm(next)) {
      if (next.input(0) !== value || CONVOLUTIONS.includes(next.opType) !== convolution) return undefined;
      const first = weightsOf(node);
      const second = weightsOf(next);
      if (!first || !second || first.outChannels !== second.inChannels) return undefined;
      if (!between.every((op) => commutes(op, rank, axis, first.outChannels))) return undefined;
      return { first, second, between, rank, axis, applied: new Float64Array(first.outChannels).fill(1) };
    }
    if (next.outputs.length < 1 || next.outputs.slice(1).some((o) => o.name !== '')) return undefined;
    between.push(next);
    value = next.output;
  }
}

function isGemm(node: Node): boolean {
  return isOp(node, 'Conv', 'ConvTranspose', 'Gemm', 'MatMul');
}

function constantRank(node: Node): number | undefined {
  return floatConstant(node.input(1))?.dims.length;
}

/** The constant operand of a binary op and the index of the other, when exactly one operand is constant. */
function constantOperand(op: Node): { constant: NonNullable<ReturnType<typeof floatConstant>>; at: number } | undefined {
  const [a, b] = op.inputs;
  const ca = floatConstant(a);
  const cb = floatConstant(b);
  if (ca && !cb) return { constant: ca, at: 0 };
  if (cb && !ca) return { constant: cb, at: 1 };
  return undefined;
}

/** Whether an op between the GEMMs commutes with a positive per-channel scale of its input (case 2). */
function commutes(op: Node, rank: number, axis: number, channels: number): boolean {
  if (op.domain !== '' && op.domain !== 'ai.onnx') return false;
  switch (op.opType) {
    case 'Relu':
    case 'LeakyRelu':
      return true;
    case 'Clip': {
      if (op.attribute('max') !== undefined || op.attribute('min') !== undefined) return false;
      const low = op.input(1);
      if (op.input(2)) return false;
      if (!low) return true;
      const bound = floatConstant(low);
      return bound !== undefined && bound.data.length === 1 && bound.data[0] === 0;
    }
    case 'Mul':
      return op.inputs.length === 2 && constantOperand(op) !== undefined && broadcastKeeps(constantOperand(op)!.constant.dims, rank);
    case 'Add':
    case 'Sub': {
      const operand = op.inputs.length === 2 ? constantOperand(op) : undefined;
      if (!operand) return false;
      const vector = channelVector(operand.constant, rank, axis);
      return vector !== undefined && expandChannels(vector, channels) !== undefined;
    }
    case 'BatchNormalization':
      return axis === 1 && [1, 2, 3, 4].every((i) => floatConstant(op.input(i))?.data.length === channels);
    default:
      return false;
  }
}

/** Whether a constant of these dims broadcasts against a tensor of `rank` without changing its shape's rank. */
function broadcastKeeps(dims: readonly number[], rank: number): boolean {
  return dims.length <= rank;
}

/** One equalization step of a pair; returns the largest |log s| it applied. */
function equalize(pair: Pair): number {
  const r1 = pair.first.outputRanges();
  const r2 = pair.second.inputRanges();
  const channels = r1.length;
  const s = new Float64Array(channels);
  const k = new Float64Array(channels);
  let moved = 0;
  for (let c = 0; c < channels; c++) {
    const a = r1[c]!;
    const b = r2[c]!;
    s[c] = a > 0 && b > 0 ? Math.sqrt(a / b) : 1;
    k[c] = 1 / s[c]!;
    pair.applied[c]! *= k[c]!;
    moved = Math.max(moved, Math.abs(Math.log(s[c]!)));
  }
  pair.first.scaleOutputs(k);
  pair.second.scaleInputs(s);
  return moved;
}

/** Applies the pair's accumulated scale to the constants of the ops between the GEMMs (case 2). */
function rescaleBetween(graph: Graph, pair: Pair): void {
  const k = pair.applied;
  const channels = k.length;
  for (const op of pair.between) {
    if (op.opType === 'Add' || op.opType === 'Sub') {
      const { constant, at } = constantOperand(op)!;
      const vector = expandChannels(channelVector(constant, pair.rank, pair.axis)!, channels)!;
      const scaled = Float32Array.from(vector, (v, c) => v * k[c]!);
      const dims = Array.from({ length: pair.rank - pair.axis }, (_, i) => (i === 0 ? channels : 1));
      replaceInput(graph, op, at, addFloatInitializer(graph, `${op.name || op.opType}_equalized`, scaled, dims));
    } else if (op.opType === 'BatchNormalization') {
      for (const index of [2, 3]) {
        const data = floatConstant(op.input(index))!.data;
        const scaled = Float32Array.from(data, (v, c) => v * k[c]!);
        replaceInput(graph, op, index, addFloatInitializer(graph, `${op.name || op.opType}_equalized`, scaled, [channels]));
      }
    }
  }
}

function replaceInput(graph: Graph, op: Node, index: number, value: Value): void {
  const old = op.input(index);
  op.setInput(index, value);
  removeIfDead(graph, old);
}
