import { Value, type Model, type Node, type Pass, type PassResult } from '@quantkit/core';
import { matchGelu } from './match-gelu.js';
import { matchHardSigmoid, matchHardSwish } from './match-hard-activations.js';
import { matchLayerNorm } from './match-layer-norm.js';
import type { PatternMatch } from './pattern-terms.js';
import { addFloatInitializer, replaceChain } from './rewrite.js';

/** The matchers in the order they are tried at each node: the larger pattern first. */
const MATCHERS: readonly ((node: Node) => PatternMatch | undefined)[] = [
  matchLayerNorm,
  matchGelu,
  matchHardSwish,
  matchHardSigmoid,
];

/**
 * fuse-activation-patterns (canonicalize) — activations spelled out by exporters become one standard op each,
 * computing the same function (issue 8).
 *
 * Cases:
 * 1. HardSwish: a product of x, `Relu6(x + 3)` and 1/6 — `x·Clip(x+3,0,6)/6`, `x·Relu6(x+3)·(1/6)`,
 *    `x·(Clip(x+3,0,6)/6)`, operands in either order, Relu6 as `Clip(0,6)` or `Relu` then `Clip(≤0,6)`, Clip
 *    bounds as attributes, constants, or Casts of constants — and `x·HardSigmoid(x)` with alpha 1/6, beta 1/2
 *    → `HardSwish(x)`.
 * 2. HardSigmoid: `Relu6(x + 3) / 6` → `HardSigmoid(x, alpha=1/6, beta=0.5)`; `Clip(x·a + b, 0, 1)` (a as a
 *    Mul or a Div by a constant, either may be absent) → `HardSigmoid(x, alpha=a, beta=b)`.
 * 3. GELU: `0.5·x·(1 + Erf(x/√2))` → `Gelu(x)`; `0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))` →
 *    `Gelu(x, approximate='tanh')`. Gelu needs opset 20: a GELU is only fused when the model's opset is ≥ 20
 *    (raise-opset raises it when it sees one).
 * 4. LayerNorm over the last axis spelled with ReduceMean / Sub / Pow / Sqrt / Div (and an optional scale Mul
 *    and bias Add by constants along the last axis) → `LayerNormalization(x, scale, bias, axis=-1, epsilon)`,
 *    when the opset is ≥ 17.
 * 5. Half matches are left alone: a constant off by more than a relative 1e-6 (a HardSwish whose shift is 2.9,
 *    a Div by 5), a Clip whose bounds are computed at run time, or any inner value that is also read outside
 *    the pattern or is a graph output.
 * 6. The replacement node takes over the pattern's output value (same name, same consumers, same graph output);
 *    constants only the pattern read are removed.
 */
export const fuseActivationPatterns: Pass = {
  info: {
    name: 'fuse-activation-patterns',
    phase: 'canonicalize',
    summary: 'spelled-out HardSwish, HardSigmoid, GELU and LayerNorm become one standard op each',
    after: ['fold-constants', 'fold-batchnorm'],
  },
  run(model: Model): PassResult {
    const graph = model.graph;
    const opset = model.opset;
    let modified = false;
    // Consumers first: a pattern is met at its last node before any smaller pattern inside it (a LayerNorm's
    // Add before the Div that ends a LayerNorm without scale and bias).
    for (const node of graph.nodes().reverse()) {
      if (node.graph !== graph) continue;
      for (const matcher of MATCHERS) {
        const match = matcher(node);
        if (!match || opset < MIN_OPSET[match.opType]!) continue;
        const inputs = match.inputs.map((input) =>
          input === undefined || input instanceof Value ? input : addFloatInitializer(graph, input.name, input.data, input.dims),
        );
        replaceChain(graph, match.chain, match.last, {
          opType: match.opType,
          name: `${match.last.name || match.opType}_${match.opType}`,
          inputs,
          attributes: match.attributes,
        });
        modified = true;
        break;
      }
    }
    return { model, modified };
  },
};

const MIN_OPSET: Record<string, number> = { HardSwish: 14, HardSigmoid: 6, Gelu: 20, LayerNormalization: 17 };
