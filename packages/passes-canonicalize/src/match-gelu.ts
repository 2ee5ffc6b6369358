import type { Node, Value } from '@quantkit/core';
import { near, scalarConstant } from './float-constants.js';
import { addScalar, closedChain, productOf, type PatternMatch } from './pattern-terms.js';
import { isOp } from './rewrite.js';

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const TANH_CUBIC = 0.044715;

/**
 * GELU written out, as a product (any order and grouping of Mul / Div) of 0.5, x and either
 * - `1 + Erf(x / √2)` (the exact form; x·(1/√2) also matches) → `Gelu(x)`, or
 * - `1 + Tanh(√(2/π) · (x + 0.044715 · x³))` with x³ as `Pow(x, 3)` or `x·x·x` → `Gelu(x, approximate='tanh')`.
 * The standard Gelu exists from opset 20.
 */
export function matchGelu(last: Node): PatternMatch | undefined {
  if (!isOp(last, 'Mul', 'Div')) return undefined;
  const product = productOf(last.output);
  if (product.leaves.length !== 2 || !near(product.coefficient, 0.5)) return undefined;
  for (const [x, other] of [product.leaves, [...product.leaves].reverse()] as Value[][]) {
    const onePlus = addScalar(other);
    if (!onePlus || !near(onePlus.c, 1)) continue;
    const inner = onePlus.x.producer();
    if (isOp(inner, 'Erf')) {
      const scaled = productOf(inner.input(0)!);
      if (scaled.leaves.length === 1 && scaled.leaves[0] === x && near(scaled.coefficient, SQRT_HALF, 1e-5)) {
        const chain = [...product.nodes, onePlus.node, inner, ...scaled.nodes];
        if (closedChain(chain, last)) return { opType: 'Gelu', inputs: [x], chain, last };
      }
    }
    if (isOp(inner, 'Tanh')) {
      const tanhForm = matchTanhArgument(inner.input(0)!, x!);
      if (tanhForm) {
        const chain = [...product.nodes, onePlus.node, inner, ...tanhForm];
        if (closedChain(chain, last)) return { opType: 'Gelu', inputs: [x], attributes: { approximate: 'tanh' }, chain, last };
      }
    }
  }
  return undefined;
}

/** `√(2/π) · (x + 0.044715 · x³)`: the nodes that compute it, when it reads `x`. */
function matchTanhArgument(value: Value, x: Value): Node[] | undefined {
  const outer = productOf(value);
  if (outer.leaves.length !== 1 || !near(outer.coefficient, SQRT_2_OVER_PI, 1e-5)) return undefined;
  const sum = outer.leaves[0]!.producer();
  if (!isOp(sum, 'Add') || sum.inputs.length !== 2) return undefined;
  for (const [a, b] of [sum.inputs, [...sum.inputs].reverse()]) {
    if (a !== x || !b) continue;
    const cubic = productOf(b);
    const nodes = [...outer.nodes, sum, ...cubic.nodes];
    if (!near(cubic.coefficient, TANH_CUBIC, 1e-5)) continue;
    if (cubic.leaves.length === 3 && cubic.leaves.every((leaf) => leaf === x)) return nodes;
    const pow = cubic.leaves.length === 1 ? cubic.leaves[0]!.producer() : undefined;
    if (isOp(pow, 'Pow') && pow.input(0) === x && near(scalarConstant(pow.input(1)), 3)) return [...nodes, pow];
  }
  return undefined;
}
