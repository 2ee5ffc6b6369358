import { Attribute, type Node, type Value } from '@quantkit/core';
import { near } from './float-constants.js';
import { addScalar, clipBounds, closedChain, productOf, type PatternMatch } from './pattern-terms.js';
import { isOp } from './rewrite.js';

/**
 * `Relu6(x + 3)` spelled as `Clip(x + 3, 0, 6)`, or as a Relu followed by a Clip with max 6 and min ≤ 0.
 * Returns x and the nodes (Clip, optional Relu, Add).
 */
export function relu6OfXPlus3(value: Value): { x: Value; nodes: Node[] } | undefined {
  const clip = value.producer();
  if (!isOp(clip, 'Clip')) return undefined;
  const bounds = clipBounds(clip);
  if (!bounds || !near(bounds.max, 6)) return undefined;
  const nodes: Node[] = [clip];
  let shifted = clip.input(0);
  const relu = shifted?.producer();
  if (isOp(relu, 'Relu')) {
    if (bounds.min > 0) return undefined;
    nodes.push(relu);
    shifted = relu.input(0);
  } else if (!near(bounds.min, 0)) {
    return undefined;
  }
  const add = addScalar(shifted);
  if (!add || !near(add.c, 3)) return undefined;
  nodes.push(add.node);
  return { x: add.x, nodes };
}

/**
 * HardSwish written out as a product whose factors are x, Relu6(x + 3) and 1/6 in any order and grouping
 * (Div by 6 or Mul by 1/6), or as `x · HardSigmoid(x)` with alpha 1/6 and beta 0.5.
 */
export function matchHardSwish(last: Node): PatternMatch | undefined {
  if (!isOp(last, 'Mul', 'Div')) return undefined;
  const product = productOf(last.output);
  if (product.leaves.length !== 2) return undefined;
  for (const [x, other] of [product.leaves, [...product.leaves].reverse()] as Value[][]) {
    const relu6 = relu6OfXPlus3(other!);
    if (relu6 && relu6.x === x && near(product.coefficient, 1 / 6)) {
      return found(x!, [...product.nodes, ...relu6.nodes], last);
    }
    const hardSigmoid = other!.producer();
    if (
      isOp(hardSigmoid, 'HardSigmoid') &&
      hardSigmoid.input(0) === x &&
      near(product.coefficient, 1) &&
      near(hardSigmoid.attribute('alpha')?.asNumber() ?? 0.2, 1 / 6) &&
      near(hardSigmoid.attribute('beta')?.asNumber() ?? 0.5, 0.5)
    ) {
      return found(x!, [...product.nodes, hardSigmoid], last);
    }
  }
  return undefined;
}

function found(x: Value, chain: Node[], last: Node): PatternMatch | undefined {
  if (!closedChain(chain, last)) return undefined;
  return { opType: 'HardSwish', inputs: [x], chain, last };
}

/**
 * HardSigmoid written out: `Relu6(x + 3) / 6` (alpha 1/6, beta 1/2), or `Clip(x·a + b, 0, 1)` where the
 * product may also be a Div by a constant, and a or b may be absent (1 and 0).
 */
export function matchHardSigmoid(last: Node): PatternMatch | undefined {
  return matchScaledRelu6(last) ?? matchClippedAffine(last);
}

function matchScaledRelu6(last: Node): PatternMatch | undefined {
  if (!isOp(last, 'Mul', 'Div')) return undefined;
  const product = productOf(last.output);
  if (product.leaves.length !== 1 || !near(product.coefficient, 1 / 6)) return undefined;
  const relu6 = relu6OfXPlus3(product.leaves[0]!);
  if (!relu6) return undefined;
  const chain = [...product.nodes, ...relu6.nodes];
  if (!closedChain(chain, last)) return undefined;
  return { opType: 'HardSigmoid', inputs: [relu6.x], attributes: floats(1 / 6, 0.5), chain, last };
}

function matchClippedAffine(last: Node): PatternMatch | undefined {
  if (!isOp(last, 'Clip')) return undefined;
  const bounds = clipBounds(last);
  if (!bounds || !near(bounds.min, 0) || !near(bounds.max, 1)) return undefined;
  const chain: Node[] = [];
  let inner = last.input(0);
  let beta = 0;
  const add = addScalar(inner);
  if (add) {
    beta = add.c;
    chain.push(add.node);
    inner = add.x;
  }
  if (!inner) return undefined;
  let alpha = 1;
  let x: Value = inner;
  if (isOp(inner.producer(), 'Mul', 'Div')) {
    const product = productOf(inner);
    if (product.leaves.length === 1 && product.nodes.length > 0) {
      alpha = product.coefficient;
      x = product.leaves[0]!;
      chain.push(...product.nodes);
    }
  }
  if (chain.length === 0 || !closedChain(chain, last)) return undefined;
  return { opType: 'HardSigmoid', inputs: [x], attributes: floats(alpha, beta), chain, last };
}

/** HardSigmoid's attributes, written as floats even when they are whole numbers. */
function floats(alpha: number, beta: number) {
  return { alpha: Attribute.float('alpha', alpha), beta: Attribute.float('beta', beta) };
}
