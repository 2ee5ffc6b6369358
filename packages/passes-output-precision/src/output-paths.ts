import type { QuantPlan, Use, Value } from '@quantkit/core';

/**
 * Whether `value` is the model's output and nothing else: a graph output, or read only by Identity nodes whose
 * outputs are in turn such values (DESIGN §6: "every user is a graph output, through Identity").
 */
export function onlyFeedsGraphOutputs(value: Value): boolean {
  if (!value.isGraphOutput() && value.useCount === 0) return false;
  return value.uses().every(isPathToGraphOutput);
}

/** A use by an Identity whose output only feeds graph outputs: a way out of the model, not a consumer. */
export function isPathToGraphOutput(use: Use): boolean {
  const node = use.node;
  return node.opType === 'Identity' && (node.domain === '' || node.domain === 'ai.onnx') && onlyFeedsGraphOutputs(node.output);
}

/**
 * Removes the quantization of the Identity outputs on the paths from `use` to graph outputs: they shared the
 * scale of a tensor that now stays at high precision there.
 */
export function dropQuantOnPath(plan: QuantPlan, use: Use): void {
  const output = use.node.output;
  plan.activations.delete(output);
  for (const next of output.uses()) dropQuantOnPath(plan, next);
}
