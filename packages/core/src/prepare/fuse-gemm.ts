import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorShape } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { isGemmLike } from '../ops/op-traits.js';
import { constantTensor } from './constants.js';
import type { GemmGroup, GemmKind } from './quant-plan.js';

/** Why a GEMM-like node did not become a group; it then runs in float on the CPU. */
export interface UnfusedGemm {
  readonly node: Node;
  readonly reason: string;
}

export interface GemmGroups {
  readonly groups: GemmGroup[];
  readonly unfused: UnfusedGemm[];
}

/**
 * Finds the GEMM-like ops of a graph and the epilogue fused into each (DESIGN §5), in graph order:
 * - Conv / ConvTranspose / Gemm / MatMul with a constant weight (an initializer, a Constant node, or either
 *   through Identity), or a MatMul of two activations (attention's Q·Kᵀ and A·V);
 * - the bias: Conv's input 2 or Gemm's C when constant; otherwise (MatMul, Gemm without C) a following Add
 *   whose other operand is constant — in either order, PyTorch exports `Add(bias, x)` — and broadcasts along
 *   the output-channel dim only;
 * - then an epilogue: a chain of pointwise ops, each one unit (epilogueStep): Relu, Clip with constant bounds,
 *   HardSwish, HardSigmoid, Sigmoid, Tanh, LeakyRelu, Gelu, SiLU as `Mul(x, Sigmoid(x))` (two nodes, one unit), and
 *   the canonical per-channel scale-shift, a BatchNormalization in inference form with constant parameters.
 * An epilogue node is taken only when the value before it has exactly that one use (SiLU: exactly its Sigmoid and
 * its Mul) and is not a graph output, so every value inside a group is private to it; the group is quantized once,
 * at the chain's end.
 */
export function findGemmGroups(graph: Graph): GemmGroups {
  const groups: GemmGroup[] = [];
  const unfused: UnfusedGemm[] = [];
  for (const node of graph) {
    if (!isGemmLike(node.opType, node.domain)) continue;
    const result = groupAt(node);
    if (typeof result === 'string') unfused.push({ node, reason: result });
    else groups.push(result);
  }
  return { groups, unfused };
}

function groupAt(node: Node): GemmGroup | string {
  const kind = node.opType as GemmKind;
  const input = node.input(0);
  const operand = node.input(1);
  if (!input || !operand) return 'it lacks an input';
  if (constantTensor(input)) return 'its first operand is a constant';
  const weightTensor = constantTensor(operand);
  if (!weightTensor && kind !== 'MatMul') return 'its weight is not a constant';
  if (kind === 'MatMul' && weightTensor && weightTensor.dims.length < 2) return 'its weight is a vector';

  let bias: Value | undefined;
  const ownBias = kind === 'MatMul' ? undefined : node.input(2);
  if (ownBias) {
    if (!constantTensor(ownBias)) return kind === 'Gemm' ? 'its C input is not a constant' : 'its bias is not a constant';
    bias = ownBias;
  }

  const weightAxis = weightAxisOf(node, weightTensor?.dims.length);
  const nodes: Node[] = [node];
  let output = node.output;
  let biasAdd: Node | undefined;
  if (!bias) {
    const add = soleUser(output, (user) => user.opType === 'Add');
    const other = add && add.input(add.input(0) === output ? 1 : 0);
    const tensor = other && constantTensor(other);
    if (add && other && tensor && isChannelBias(tensor.dims, kind, node, input, outputChannels(node, weightTensor, weightAxis))) {
      biasAdd = add;
      bias = other;
      nodes.push(add);
      output = add.output;
    }
  }

  const epilogue: Node[] = [];
  for (let step = epilogueStep(output); step; step = epilogueStep(output)) {
    epilogue.push(...step);
    nodes.push(...step);
    output = step[step.length - 1]!.output;
  }
  const activation = epilogue[epilogue.length - 1];

  return {
    kind,
    node,
    input,
    weight: weightTensor ? operand : undefined,
    input2: weightTensor ? undefined : operand,
    weightAxis,
    bias,
    biasAdd,
    activation,
    epilogue,
    output,
    nodes,
  };
}

/** Pointwise ops of one input that an epilogue takes as they are (their attributes are constants). */
const POINTWISE = new Set(['Relu', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Gelu']);

/** The next unit of an epilogue after `value` (one node, or SiLU's Sigmoid and Mul), if there is one. */
export function epilogueStep(value: Value): Node[] | undefined {
  if (value.isGraphOutput()) return undefined;
  const silu = siluAt(value);
  if (silu) return silu;
  const user = soleUser(value, (node) => {
    if (node.input(0) !== value) return false;
    if (POINTWISE.has(node.opType)) return node.inputs.length === 1;
    if (node.opType === 'Clip') return node.inputs.slice(1).every((bound) => bound === undefined || bound.name === '' || constantTensor(bound) !== undefined);
    if (node.opType === 'BatchNormalization') {
      return node.inputs.length === 5 && node.inputs.slice(1).every((p) => constantTensor(p) !== undefined);
    }
    return false;
  });
  return user ? [user] : undefined;
}

/** `Mul(x, Sigmoid(x))` (either operand order) reading `value` as its only two uses. */
export function siluAt(value: Value): Node[] | undefined {
  if (value.useCount !== 2 || value.isGraphOutput()) return undefined;
  const users = value.uses().map((use) => use.node);
  const sigmoid = users.find((n) => n.opType === 'Sigmoid' && n.inputs.length === 1);
  const mul = users.find((n) => n.opType === 'Mul' && n !== sigmoid);
  if (!sigmoid || !mul || ![sigmoid, mul].every((n) => n.domain === '' || n.domain === 'ai.onnx')) return undefined;
  const gate = sigmoid.output;
  if (gate.useCount !== 1 || gate.isGraphOutput() || mul.inputs.length !== 2) return undefined;
  const [a, b] = mul.inputs;
  if (!((a === value && b === gate) || (a === gate && b === value))) return undefined;
  return [sigmoid, mul];
}

/** The one node reading `value`, if it passes `accept` and `value` is not also a graph output. */
function soleUser(value: Value, accept: (user: Node) => boolean): Node | undefined {
  if (value.useCount !== 1 || value.isGraphOutput()) return undefined;
  const user = value.uses()[0]!.node;
  if (user.domain !== '' && user.domain !== 'ai.onnx') return undefined;
  return user.outputs.length === 1 && accept(user) ? user : undefined;
}

/**
 * Output-channel axis of the weight: Conv [M, C/g, k…] 0; ConvTranspose [C, M/g, k…] 1; Gemm B is [K, N] or,
 * with transB, [N, K]; MatMul's weight is [..., K, N], so its last axis. -1 (ONNX's "last axis") without a
 * constant weight.
 */
function weightAxisOf(node: Node, weightRank: number | undefined): number {
  switch (node.opType) {
    case 'Conv':
      return 0;
    case 'ConvTranspose':
      return 1;
    case 'Gemm':
      return (node.attribute('transB')?.asNumber() ?? 0) === 1 ? 0 : 1;
    default:
      return weightRank === undefined ? -1 : weightRank - 1;
  }
}

/** The output-channel count a constant weight gives (ConvTranspose's weight holds Cout / group), if known. */
function outputChannels(node: Node, weight: Tensor | undefined, axis: number): number | undefined {
  const channels = weight?.dims[axis];
  if (channels === undefined || node.opType !== 'ConvTranspose') return channels;
  return channels * (node.attribute('group')?.asNumber() ?? 1);
}

/**
 * Whether a constant of these dims, added to the GEMM output, is a per-output-channel bias: every dim is 1
 * except the channel dim (axis 1 of a Conv's NCHW output, the last axis of a Gemm / MatMul output), which is
 * the output's channel count when the weight gives it; and it does not add dims the output lacks. A channel dim
 * that differs would broadcast the output (a [M, 1] output plus a [3] constant is [M, 3]): not a bias.
 */
function isChannelBias(dims: readonly number[], kind: GemmKind, node: Node, input: Value, channels: number | undefined): boolean {
  const outputRank = rankOf(kind, node, input);
  const channelDim = (d: number) => channels === undefined || d === channels;
  if (kind === 'Conv' || kind === 'ConvTranspose') {
    if (outputRank === undefined || dims.length > outputRank) return false;
    const channel = 1 - (outputRank - dims.length);
    return dims.every((d, i) => d === 1 || (i === channel && channelDim(d)));
  }
  if (dims.length > (outputRank ?? 1)) return false;
  return dims.every((d, i) => d === 1 || (i === dims.length - 1 && channelDim(d)));
}

/** The GEMM output's rank, or a lower bound for a MatMul with operands of unknown rank. */
function rankOf(kind: GemmKind, node: Node, input: Value): number | undefined {
  if (kind === 'Gemm') return 2;
  const declared = tensorShape(node.output.type)?.length;
  if (declared !== undefined) return declared;
  const weightRank = constantTensor(node.input(1))?.dims.length ?? tensorShape(node.input(1)?.type)?.length;
  if (kind !== 'MatMul') return weightRank;
  const inputRank = tensorShape(input.type)?.length;
  // numpy matmul: a 1-D operand is promoted to a matrix and the added dim dropped again.
  if (inputRank !== undefined && weightRank !== undefined) {
    return Math.max(0, Math.max(inputRank, weightRank) - (inputRank === 1 ? 1 : 0) - (weightRank === 1 ? 1 : 0));
  }
  const known = [inputRank, weightRank].filter((r): r is number => r !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}
