import { Attribute, Node, Value, type Graph, type Model, type Pass, type PassResult } from '@quantkit/core';
import { channelVector, expandChannels, floatConstant, rankOf } from './float-constants.js';
import { absorbFollower, GemmWeights } from './gemm-weights.js';
import { addFloatInitializer, isOp, removeIfDead, soleConsumer } from './rewrite.js';

/**
 * fold-affine (canonicalize) — element-wise `Mul` / `Add` by per-channel constants are folded into the
 * adjacent GEMM where that is exact, and otherwise become one canonical scale-shift (issue 8). A constant is
 * per-channel when, aligned to the right against the tensor it applies to, it varies along the channel axis
 * only (a one-element constant is the same value for every channel). Repeated until nothing changes.
 *
 * Cases:
 * 1. After a GEMM (Conv / ConvTranspose / Gemm / MatMul with constant weights) whose output has no other use
 *    and is not a graph output: `Mul` by c (per output channel: axis 1 of a convolution, the last axis of a 2-D
 *    Gemm / MatMul) scales the weight's output channels and the bias; `Add` of c shifts the bias (not after a
 *    MatMul: MatMul + Add is already the Linear form). The GEMM takes over the Mul's / Add's output value.
 * 2. Before a GEMM: `Mul(x, a)` with a per channel along axis 1 of x, whose output is read only as input 0 of
 *    such GEMMs (a Conv, a ConvTranspose, a Gemm with transA 0 or a MatMul of a 2-D x) — a scales each GEMM's
 *    input channels (exact also with zero padding, since 0·a = 0).
 * 3. Before a GEMM: `Add(x, b)` the same way, but only into a Conv without padding (a padded border would not
 *    see b) or a Gemm / 2-D MatMul: b·W is added to each output channel's bias.
 * 4. Otherwise `Mul(x, a)` followed by `Add(·, b)` (the Mul's output read only by the Add), or a lone Mul or
 *    Add, along axis 1 of x (rank ≥ 2 known, at least one constant with more than one channel) becomes
 *    `BatchNormalization(x, scale=a, B=b, mean=0, var=1, epsilon=0)`, which is exactly a·x + b.
 * 5. Left alone: constants that vary along another axis or that would broaden the result's shape, scalar Mul /
 *    Add with no GEMM to fold into, an Add right after a MatMul (its bias), operands that are both constants,
 *    tensors of unknown rank.
 */
export const foldAffine: Pass = {
  info: {
    name: 'fold-affine',
    phase: 'canonicalize',
    summary: 'per-channel Mul / Add by constants fold into the adjacent GEMM when exact, else become one scale-shift',
    after: ['fold-constants', 'fold-batchnorm', 'fuse-activation-patterns'],
  },
  run(model: Model): PassResult {
    const graph = model.graph;
    let modified = false;
    for (let changed = true; changed; ) {
      changed = false;
      for (const node of graph.nodes()) {
        if (node.graph !== graph || !isOp(node, 'Mul', 'Add') || node.inputs.length !== 2) continue;
        if (foldAfterGemm(graph, node) || foldBeforeGemm(graph, node)) {
          changed = true;
          modified = true;
        }
      }
    }
    for (const node of graph.nodes()) {
      if (node.graph === graph && isOp(node, 'Mul', 'Add') && toScaleShift(graph, node)) modified = true;
    }
    return { model, modified };
  },
};

/** The tensor operand and the constant operand of a binary node; undefined unless exactly one is constant. */
function split(node: Node): { x: Value; c: NonNullable<ReturnType<typeof floatConstant>> } | undefined {
  const [a, b] = node.inputs;
  if (!a || !b) return undefined;
  const ca = floatConstant(a);
  const cb = floatConstant(b);
  if (cb && !ca) return { x: a, c: cb };
  if (ca && !cb) return { x: b, c: ca };
  return undefined;
}

function foldAfterGemm(graph: Graph, node: Node): boolean {
  const operands = split(node);
  if (!operands) return false;
  const producer = operands.x.producer();
  if (!producer || soleConsumer(operands.x) !== node) return false;
  if (node.opType === 'Add' && isOp(producer, 'MatMul')) return false;
  const gemm = GemmWeights.of(producer);
  const rank = gemm?.outputAxis() === 1 ? gemm.outputRank() : rankOf(operands.x);
  if (!gemm || rank === undefined) return false;
  const vector = channelVector(operands.c, rank, gemm.outputAxis());
  const perChannel = vector && expandChannels(vector, gemm.outChannels);
  if (!perChannel) return false;
  if (node.opType === 'Mul') gemm.scaleOutputs(perChannel);
  else gemm.shiftOutputs(perChannel);
  absorbFollower(graph, producer, node);
  gemm.commit(graph);
  return true;
}

function foldBeforeGemm(graph: Graph, node: Node): boolean {
  const operands = split(node);
  const output = node.output;
  if (!operands || output.isGraphOutput() || output.useCount === 0) return false;
  const rank = rankOf(operands.x);
  if (rank === undefined || rank < 2) return false;
  const gemms: GemmWeights[] = [];
  for (const use of output.uses()) {
    const gemm = use.index === 0 ? GemmWeights.of(use.node) : undefined;
    if (!gemm || gemms.some((g) => g.node === use.node)) return false;
    if (gemm.node.opType !== 'Conv' && gemm.node.opType !== 'ConvTranspose' && rank !== 2) return false;
    if (node.opType === 'Add' && !shiftableInput(gemm.node)) return false;
    gemms.push(gemm);
  }
  const vector = channelVector(operands.c, rank, 1);
  if (!vector) return false;
  for (const gemm of gemms) {
    const perChannel = expandChannels(vector, gemm.inChannels);
    if (!perChannel) return false;
    if (node.opType === 'Mul') gemm.scaleInputs(perChannel);
    else gemm.shiftInputs(perChannel);
  }
  const inputs = [...node.inputs];
  for (const gemm of gemms) {
    gemm.node.setInput(0, operands.x);
    gemm.commit(graph);
  }
  graph.remove(node);
  for (const input of inputs) removeIfDead(graph, input);
  return true;
}

/** Whether a shift of a GEMM's input is a shift of its output: no zero padding enters its sums. */
function shiftableInput(node: Node): boolean {
  if (node.opType === 'Gemm' || node.opType === 'MatMul') return true;
  if (node.opType !== 'Conv') return false;
  const autoPad = node.attribute('auto_pad')?.asString() ?? 'NOTSET';
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return false;
  return (node.attribute('pads')?.asNumbers() ?? []).every((p) => p === 0);
}

function toScaleShift(graph: Graph, node: Node): boolean {
  const operands = split(node);
  if (!operands) return false;
  if (node.opType === 'Add' && isOp(operands.x.producer(), 'MatMul')) return false;
  let mul: Node | undefined;
  let add: Node | undefined;
  const x = operands.x;
  let scale: Float32Array | undefined;
  let shift: Float32Array | undefined;
  const rank = rankOf(x);
  if (rank === undefined || rank < 2) return false;
  if (node.opType === 'Mul') {
    mul = node;
    scale = channelVector(operands.c, rank, 1);
    const next = soleConsumer(node.output);
    const nextOperands = next && isOp(next, 'Add') ? split(next) : undefined;
    if (next && nextOperands && nextOperands.x === node.output) {
      shift = channelVector(nextOperands.c, rank, 1);
      if (shift) add = next;
    }
  } else {
    // An Add whose Mul partner exists was handled with that Mul.
    const partner = x.producer();
    if (isOp(partner, 'Mul') && soleConsumer(x) === node && split(partner)) {
      const partnerOperands = split(partner)!;
      const partnerRank = rankOf(partnerOperands.x);
      if (partnerRank !== undefined && channelVector(partnerOperands.c, partnerRank, 1)) return false;
    }
    add = node;
    shift = channelVector(operands.c, rank, 1);
  }
  if ((mul && !scale) || (add && !shift) || (!mul && !add)) return false;
  const channels = Math.max(scale?.length ?? 1, shift?.length ?? 1);
  if (channels === 1) return false;
  const a = scale ? expandChannels(scale, channels) : new Float32Array(channels).fill(1);
  const b = shift ? expandChannels(shift, channels) : new Float32Array(channels);
  if (!a || !b) return false;
  const last = (add ?? mul)!;
  const base = last.name || 'scale_shift';
  const output = last.output;
  last.replaceOutput(0, new Value(graph.uniqueName(`${output.name}_replaced`)));
  const bn = new Node({
    opType: 'BatchNormalization',
    name: graph.uniqueName(`${base}_scale_shift`),
    inputs: [
      x,
      addFloatInitializer(graph, `${base}_scale`, a, [channels]),
      addFloatInitializer(graph, `${base}_shift`, b, [channels]),
      addFloatInitializer(graph, `${base}_mean`, new Float32Array(channels), [channels]),
      addFloatInitializer(graph, `${base}_var`, new Float32Array(channels).fill(1), [channels]),
    ],
    outputs: [output],
    attributes: { epsilon: Attribute.float('epsilon', 0) },
  });
  graph.insertBefore(last, bn);
  const removed = [add, mul].filter((n): n is Node => n !== undefined);
  const fed = removed.flatMap((n) => [...n.inputs]);
  for (const n of removed) graph.remove(n, { force: true });
  for (const input of fed) removeIfDead(graph, input);
  return true;
}
