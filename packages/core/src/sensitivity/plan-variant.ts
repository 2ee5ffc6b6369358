import type { Model } from '../ir/model.js';
import type { ActivationQuant, GemmGroup, QuantPlan } from '../prepare/quant-plan.js';
import { quantPlanOf, setQuantPlan } from '../prepare/quant-plan.js';

/**
 * The same prepared model (the same graph, shared, not copied) with another quantization plan attached: what
 * exportQdq and calibrate read. A variant only chooses which of the prepared model's tensors are quantized and
 * how, so the Values the plan names stay the prepared model's own.
 */
export function withPlan(prepared: Model, plan: QuantPlan): Model {
  const variant = Object.assign(Object.create(Object.getPrototypeOf(prepared) as object) as Model, prepared);
  setQuantPlan(variant, plan);
  return variant;
}

/** A copy of a plan whose entries can be edited without touching the original's. */
export function copyPlan(plan: QuantPlan): QuantPlan {
  return {
    template: plan.template,
    groups: [...plan.groups],
    activations: new Map([...plan.activations].map(([value, quant]) => [value, { ...quant }])),
    highPrecision: new Set(plan.highPrecision),
    float: new Set(plan.float),
  };
}

/**
 * The plan of a prepared model with every activation observed on its own (no `shareWith`): one calibration of it
 * holds a range for every tensor a variant may quantize, also for a pass-through output that an override gives its
 * own dtype (applyOverrides then drops its `shareWith`, and the normal flow calibrates it separately).
 */
export function observeEveryActivation(prepared: Model): Model {
  const plan = copyPlan(quantPlanOf(prepared));
  for (const quant of plan.activations.values()) delete quant.shareWith;
  return withPlan(prepared, plan);
}

/**
 * The prepared model with only the given activations and GEMM weights quantized, everything else float (biases
 * too: a bias is quantized only behind a quantized input). Entries keep their `shareWith`: the exporter follows it
 * to the calibrated tensor even when that tensor itself is not quantized in the variant.
 */
export function onlyQuantizing(prepared: Model, activations: readonly ActivationQuant[], groups: readonly GemmGroup[]): Model {
  const plan = quantPlanOf(prepared);
  return withPlan(prepared, {
    template: plan.template,
    groups: [...groups],
    activations: new Map(activations.map((quant) => [quant.value, { ...quant }])),
    highPrecision: new Set(plan.highPrecision),
    float: new Set(plan.float),
  });
}
