import { inferElemTypes, isFloatType } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { QuantTemplate } from '../march/template.js';
import { nodeTrait } from '../ops/op-traits.js';
import type { PassDiagnostic } from '../pass/pass.js';
import { staticValues } from './constants.js';
import { findGemmGroups, siluAt } from './fuse-gemm.js';
import type { ActivationQuant, GemmGroup, QuantPlan, WeightDtype } from './quant-plan.js';

export interface BuiltPlan {
  plan: QuantPlan;
  /** CPU fallbacks and GEMM-like ops that could not be fused, for the report. */
  diagnostics: PassDiagnostic[];
}

/**
 * The default plan of a template, before the prepare passes and the overrides edit it. Only float tensors that
 * depend on input data are quantized (see staticValues: weights, VPU-island parameters and shape arithmetic
 * stay as they are):
 * - float graph inputs: an ActivationQuant each (the implicit QuantStub);
 * - each GEMM group: its output only, never the values inside it;
 * - elementwise ops (VPU float islands): their outputs; SiLU spelled `Mul(x, Sigmoid(x))` is one op, so its
 *   Sigmoid's output is not quantized;
 * - pass-through ops (nodeTrait: a nearest Resize is one): `shareWith` input 0 when input 0 is quantized, since moving data keeps its scale;
 *   Concat, which requantizes its inputs to one scale, and ops whose input 0 is a constant get their own;
 * - shape ops: nothing;
 * - ops with no trait (CPU fallback) and GEMM-like ops that could not be grouped: their outputs, so that the
 *   next BPU op reads a quantized input; each is reported.
 * Every ActivationQuant has the template's activation dtype; `activations` is in graph order. Every group with a
 * constant weight gets the template's weight dtype in `weights` (finalizePlan keeps qint8 on high-precision outputs).
 */
export function buildQuantPlan(model: Model, template: QuantTemplate): BuiltPlan {
  const graph = model.graph;
  const types = inferElemTypes(graph);
  const statics = staticValues(graph);
  const { groups, unfused } = findGemmGroups(graph);
  const groupOf = new Map<Node, GemmGroup>();
  for (const group of groups) for (const node of group.nodes) groupOf.set(node, group);
  const unfusedReason = new Map(unfused.map((u) => [u.node, u.reason]));

  const activations = new Map<Value, ActivationQuant>();
  const diagnostics: PassDiagnostic[] = [];
  const quantizable = (value: Value) => isFloatType(types.get(value)) && !statics.has(value);
  const own = (value: Value) => {
    if (quantizable(value)) activations.set(value, { value, dtype: template.activation });
  };

  for (const input of graph.inputs) if (!input.constValue) own(input);
  for (const node of graph) {
    const group = groupOf.get(node);
    if (group) {
      if (group.output.producer() === node) own(group.output);
      continue;
    }
    const trait = nodeTrait(node);
    if (trait === 'shape') continue;
    if (trait === 'passthrough') {
      const source = node.input(0);
      for (const output of node.outputs) {
        if (!quantizable(output)) continue;
        if (node.opType !== 'Concat' && source && activations.has(source)) {
          activations.set(output, { value: output, dtype: template.activation, shareWith: source });
        } else {
          own(output);
        }
      }
      continue;
    }
    // SiLU outside a group, Mul(x, Sigmoid(x)), is one elementwise op: only the Mul's output is quantized.
    const inSilu = node.opType === 'Sigmoid' && node.input(0) && siluAt(node.input(0)!)?.[0] === node;
    if (!inSilu) for (const output of node.outputs) own(output);
    if (trait === 'elementwise' || !node.outputs.some(quantizable)) continue;
    const why = unfusedReason.get(node);
    diagnostics.push({
      pass: 'prepare',
      level: 'warning',
      node: node.name,
      message: why
        ? `${node.describe()} is not fused as a GEMM-like op (${why}); it stays float on the CPU and its output is quantized for the ops after it.`
        : `${node.describe()} has no BPU or VPU implementation; it stays float on the CPU and its output is quantized for the ops after it.`,
    });
  }

  const weights = new Map<GemmGroup, WeightDtype>();
  for (const group of groups) if (group.weight) weights.set(group, template.weight);
  return {
    plan: { template: template.name, groups, activations, highPrecision: new Set(), float: new Set(), weights },
    diagnostics,
  };
}
