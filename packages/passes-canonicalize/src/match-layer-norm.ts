import { Attribute, constantTensor, tensorShape, type Node, type Value } from '@quantkit/core';
import { floatConstant, near, rankOf, scalarConstant, type FloatConstant } from './float-constants.js';
import { addScalar, closedChain, type PatternInput, type PatternMatch } from './pattern-terms.js';
import { isOp } from './rewrite.js';

/**
 * LayerNorm over the last axis written out:
 * `d = x − ReduceMean(x)`, `y = d / Sqrt(ReduceMean(d²) + ε)` (d² as `Pow(d, 2)` or `d·d`), then optionally
 * `· scale` and `+ bias` by constants that vary only along the last axis. The matched node is
 * `LayerNormalization(x, scale, bias, axis=-1, epsilon=ε)` (opset 17); a missing scale becomes ones. Both
 * ReduceMeans must reduce the last axis only with keepdims; other axes are left alone.
 */
export function matchLayerNorm(last: Node): PatternMatch | undefined {
  let node: Node | undefined = last;
  const chain: Node[] = [];
  let bias: FloatConstant | undefined;
  let scale: FloatConstant | undefined;
  let biasNode: Node | undefined;
  if (isOp(node, 'Add')) {
    const split = constantOperand(node);
    if (!split) return undefined;
    bias = split.constant;
    biasNode = node;
    chain.push(node);
    node = split.other.producer();
  }
  if (isOp(node, 'Mul')) {
    const split = constantOperand(node);
    if (!split) return undefined;
    scale = split.constant;
    chain.push(node);
    node = split.other.producer();
  }
  if (!isOp(node, 'Div')) return undefined;
  chain.push(node);
  const d = node.input(0);
  const sub = d?.producer();
  const sqrt = node.input(1)?.producer();
  if (!isOp(sub, 'Sub') || !isOp(sqrt, 'Sqrt')) return undefined;
  const x = sub.input(0);
  const mean = sub.input(1)?.producer();
  if (!x || !isOp(mean, 'ReduceMean') || mean.input(0) !== x || !reducesLastAxis(mean, x)) return undefined;
  const epsilonAdd = addScalar(sqrt.input(0));
  const variance = epsilonAdd?.x.producer();
  if (!epsilonAdd || !isOp(variance, 'ReduceMean') || !reducesLastAxis(variance, x)) return undefined;
  const square = variance.input(0)?.producer();
  const squares =
    (isOp(square, 'Pow') && square.input(0) === d && near(scalarConstant(square.input(1)), 2)) ||
    (isOp(square, 'Mul') && square.input(0) === d && square.input(1) === d);
  if (!squares || !square) return undefined;
  chain.push(sub, sqrt, mean, epsilonAdd.node, variance, square);
  if (!closedChain(chain, last)) return undefined;
  const width = Math.max(scale?.data.length ?? 1, bias?.data.length ?? 1, lastDim(x) ?? 1);
  if ((scale && !alongLastAxis(scale, width)) || (bias && !alongLastAxis(bias, width))) return undefined;
  if (width === 1 && lastDim(x) === undefined) return undefined;
  const vector = (constant: FloatConstant | undefined, fill: number) =>
    constant?.data.length === width ? constant.data : new Float32Array(width).fill(constant?.data[0] ?? fill);
  const base = last.name || 'LayerNormalization';
  const inputs: PatternInput[] = [x, { name: `${base}_scale`, data: vector(scale, 1), dims: [width] }];
  if (biasNode) inputs.push({ name: `${base}_bias`, data: vector(bias, 0), dims: [width] });
  return {
    opType: 'LayerNormalization',
    inputs,
    attributes: { axis: -1, epsilon: Attribute.float('epsilon', epsilonAdd.c) },
    chain,
    last,
  };
}

function constantOperand(node: Node): { constant: FloatConstant; other: Value } | undefined {
  const [a, b] = node.inputs;
  if (!a || !b) return undefined;
  const cb = floatConstant(b);
  if (cb && !floatConstant(a)) return { constant: cb, other: a };
  const ca = floatConstant(a);
  if (ca && !cb) return { constant: ca, other: b };
  return undefined;
}

/** A ReduceMean over the last axis only, keeping dims (axes as attribute before opset 18, input from 18). */
function reducesLastAxis(node: Node, x: Value): boolean {
  if ((node.attribute('keepdims')?.asNumber() ?? 1) !== 1) return false;
  const axesInput = node.input(1);
  const axes = axesInput ? constantTensor(axesInput)?.toFloat32() : node.attribute('axes')?.asNumbers();
  if (!axes || axes.length !== 1) return false;
  const axis = axes[0]!;
  if (axis === -1) return true;
  const rank = rankOf(x);
  return rank !== undefined && axis === rank - 1;
}

function lastDim(x: Value): number | undefined {
  const shape = tensorShape(x.type);
  const dim = shape?.[shape.length - 1];
  return typeof dim === 'number' ? dim : undefined;
}

/** Whether a constant varies only along the last axis (all other dims 1) with `width` or 1 entries. */
function alongLastAxis(constant: FloatConstant, width: number): boolean {
  const dims = constant.dims;
  if (dims.slice(0, -1).some((d) => d !== 1)) return false;
  return constant.data.length === width || constant.data.length === 1;
}

