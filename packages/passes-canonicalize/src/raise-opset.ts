import { upgradeOpset, type Model, type Pass, type PassContext, type PassResult } from '@quantkit/core';
import { matchGelu } from './match-gelu.js';

/** The opset canonical graphs use at least: LayerNormalization (17), HardSwish (14), Clip bounds as inputs. */
export const CANONICAL_OPSET = 17;
/** The opset of the standard Gelu. */
export const GELU_OPSET = 20;

/**
 * raise-opset (canonicalize) — the ai.onnx opset is raised so that the standard ops canonical graphs use exist
 * (issue 8).
 *
 * Cases:
 * 1. A model below opset 17 is upgraded to 17 with core's upgradeOpset (attributes that became inputs, Upsample
 *    to Resize, …); values keep their identity.
 * 2. A model that holds a spelled-out GELU (fuse-activation-patterns' erf or tanh form) is raised to 20, the
 *    opset of the standard Gelu; without one the pass does not go past 17.
 * 3. A model already at the opset it needs (or above) is not changed.
 * 4. A model upgradeOpset refuses (below opset 7, an op whose meaning cannot be kept) fails with its
 *    QK_UNSUPPORTED error naming the node.
 * The upgrade is reported as an info diagnostic with the nodes rewritten.
 */
export const raiseOpset: Pass = {
  info: {
    name: 'raise-opset',
    phase: 'canonicalize',
    summary: 'raises the ai.onnx opset to 17 (20 when a spelled-out GELU is present) so the canonical ops exist',
  },
  run(model: Model, context: PassContext): PassResult {
    const hasGelu = model.graph.nodes().some((node) => matchGelu(node) !== undefined);
    const target = hasGelu ? GELU_OPSET : CANONICAL_OPSET;
    if (model.opset >= target) return { model, modified: false };
    const result = upgradeOpset(model, target);
    context.diagnose({
      level: 'info',
      message: `ai.onnx opset ${result.from} → ${result.to}; ${result.rewritten.length} node(s) rewritten`,
    });
    return { model, modified: true };
  },
};
