import { QuantkitError } from '../errors/quantkit-error.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import type { QuantTemplate } from '../march/template.js';
import type { Pipeline } from '../pass/pass-manager.js';
import type { PassDiagnostic } from '../pass/pass.js';
import { buildQuantPlan } from './build-plan.js';
import { finalizePlan } from './finalize-plan.js';
import { applyOverrides, REUSED_OUTPUTS, type Override, type ReusedOutputs } from './overrides.js';
import { quantPlanOf, setQuantPlan, type QuantPlan } from './quant-plan.js';
import { INT8_TEMPLATE, templateFromOption } from './templates.js';

export interface PrepareOptions {
  /** A built-in template name ('int8' default, 'int16') or a template object (a plugin's). */
  template?: string | QuantTemplate;
  /** Applied after the pipeline, in order; the later one wins for a tensor. */
  overrides?: readonly Override[];
  /** 'rescale' (default): a reused GEMM output stays high precision for the graph output. */
  reusedOutputs?: ReusedOutputs;
  /** The prepare-phase passes from the plugins (Quantkit.pipeline('prepare')). */
  pipeline?: Pipeline;
}

export interface PrepareResult {
  /** A copy of the input model with the plan attached (quantPlanOf(model) returns `plan`). */
  model: Model;
  plan: QuantPlan;
  diagnostics: PassDiagnostic[];
}

/**
 * The J6 `prepare`: decides which tensors are quantized how, on a copy of the model (the input is never
 * modified). Builds the template's default plan, runs the prepare-phase passes with
 * `options: { reusedOutputs, template }`, then applies the overrides last so that they win. The graph itself
 * is not changed by prepare; calibration and export read the plan. Same inputs, same plan.
 */
export async function prepare(model: Model, options: PrepareOptions = {}): Promise<PrepareResult> {
  const template = templateFromOption(options.template) ?? INT8_TEMPLATE;
  const reusedOutputs = options.reusedOutputs ?? 'rescale';
  if (!REUSED_OUTPUTS.includes(reusedOutputs)) {
    throw new QuantkitError('QK_CONFIG', `reusedOutputs must be one of ${REUSED_OUTPUTS.join(', ')} (got ${JSON.stringify(reusedOutputs)}).`);
  }
  const misplaced = options.pipeline?.passes.filter((p) => p.info.phase !== 'prepare') ?? [];
  if (misplaced.length > 0) {
    throw new QuantkitError('QK_CONFIG', `prepare() runs prepare-phase passes only; got ${misplaced.map((p) => `'${p.info.name}' (${p.info.phase})`).join(', ')}.`, {
      hint: "Build the pipeline with quantkit.pipeline('prepare').",
    });
  }

  let prepared = cloneModel(model);
  const built = buildQuantPlan(prepared, template);
  setQuantPlan(prepared, built.plan);
  const diagnostics = [...built.diagnostics];
  if (options.pipeline) {
    const run = await options.pipeline.execute(prepared, { options: { reusedOutputs, template } });
    prepared = run.model;
    diagnostics.push(...run.diagnostics);
  }
  const plan = quantPlanOf(prepared);
  diagnostics.push(...applyOverrides(prepared, plan, options.overrides ?? [], template));
  diagnostics.push(...finalizePlan(prepared, plan));
  return { model: prepared, plan, diagnostics };
}
