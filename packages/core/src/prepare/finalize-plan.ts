import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import type { PassDiagnostic } from '../pass/pass.js';
import { hasHighPrecisionOutput, type ActivationQuant, type QuantPlan } from './quant-plan.js';

/**
 * Puts a plan in the form calibration and export read, after every pass and override has edited it:
 * - `shareWith` names the entry that owns the observer (never another sharer), and a sharer has that entry's
 *   dtype;
 * - a sharer whose source is no longer quantized (a plugin pass removed it) gets its own observer;
 * - `activations` is in graph order: graph inputs, then node outputs in node order;
 * - a group with qint16 weights whose output is high precision (hasHighPrecisionOutput) gets qint8 weights: the
 *   template's qint16 does not reach it (overrides that ask for it were refused before), reported as one info.
 * Returns the diagnostics.
 */
export function finalizePlan(model: Model, plan: QuantPlan): PassDiagnostic[] {
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

  const kept: string[] = [];
  for (const [group, dtype] of plan.weights ?? []) {
    if (dtype !== 'qint16' || !hasHighPrecisionOutput(plan, group)) continue;
    plan.weights!.set(group, 'qint8');
    kept.push(group.node.name || group.node.opType);
  }
  if (kept.length === 0) return [];
  return [
    {
      pass: 'prepare',
      level: 'info',
      message: `${kept.length} GEMM${kept.length === 1 ? '' : 's'} with a high-precision output keep${kept.length === 1 ? 's' : ''} qint8 weights (${kept.slice(0, 5).join(', ')}${kept.length > 5 ? ', …' : ''}).`,
    },
  ];
}
