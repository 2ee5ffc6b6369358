import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import type { ActivationQuant, QuantPlan } from './quant-plan.js';

/**
 * Puts a plan in the form calibration and export read, after every pass and override has edited it:
 * - `shareWith` names the entry that owns the observer (never another sharer), and a sharer has that entry's
 *   dtype;
 * - a sharer whose source is no longer quantized (a plugin pass removed it) gets its own observer;
 * - `activations` is in graph order: graph inputs, then node outputs in node order.
 */
export function finalizePlan(model: Model, plan: QuantPlan): void {
  const { activations } = plan;
  const rootOf = (entry: ActivationQuant): ActivationQuant | undefined => {
    const seen = new Set<ActivationQuant>();
    let current: ActivationQuant | undefined = entry;
    while (current?.shareWith && !seen.has(current)) {
      seen.add(current);
      current = activations.get(current.shareWith);
    }
    return current && !current.shareWith ? current : undefined;
  };
  const roots = new Map<ActivationQuant, ActivationQuant | undefined>();
  for (const entry of activations.values()) if (entry.shareWith) roots.set(entry, rootOf(entry));
  for (const [entry, root] of roots) {
    if (root) {
      entry.shareWith = root.value;
      entry.dtype = root.dtype;
    } else {
      delete entry.shareWith;
    }
  }

  const order = new Map<Value, number>();
  for (const value of model.graph.inputs) order.set(value, order.size);
  for (const node of model.graph) for (const output of node.outputs) order.set(output, order.size);
  const sorted = [...activations.values()].sort(
    (a, b) => (order.get(a.value) ?? Number.MAX_SAFE_INTEGER) - (order.get(b.value) ?? Number.MAX_SAFE_INTEGER),
  );
  activations.clear();
  for (const entry of sorted) activations.set(entry.value, entry);
}
