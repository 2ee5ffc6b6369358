import { quantPlanOf } from '@quantkit/core';

/** @typedef {import('@quantkit/core').Pass} Pass */
/** @typedef {import('@quantkit/core').QuantPlan} QuantPlan */
/** @typedef {import('@quantkit/core').ActivationQuant} ActivationQuant */

/** The ops whose input this pass raises to int16. */
const SOFTMAX_OPS = ['Softmax'];

/**
 * The entry that owns the quantization of `entry`: itself, or the entry its pass-through chain shares a scale
 * with (a Reshape or Transpose output reuses its input's scale).
 * @param {QuantPlan} plan
 * @param {ActivationQuant} entry
 * @returns {ActivationQuant}
 */
function owner(plan, entry) {
  let current = entry;
  for (let hops = 0; current.shareWith && hops < plan.activations.size; hops++) {
    const next = plan.activations.get(current.shareWith);
    if (!next) break;
    current = next;
  }
  return current;
}

/**
 * int16-into-softmax (prepare): puts int16 on the path into every Softmax.
 *
 * Softmax exponentiates its input, so the rounding step of an int8 input (amax / 127.5) turns into a large
 * relative error on the largest probabilities; int16 makes that step 256 times finer. Horizon's docs advise
 * int16 around Softmax for this reason; this pass does it whatever the template.
 *
 * Cases:
 * 1. A Softmax whose input is quantized as qint8: that quantization becomes qint16. In qat.onnx the
 *    QuantizeLinear / DequantizeLinear pair in front of the Softmax is int16 (its zero point is an int16 tensor).
 * 2. The input reaches the Softmax through pass-through ops (Reshape, Transpose, …) that share the scale of an
 *    earlier tensor: that tensor's quantization becomes qint16, so the whole path is int16 (and so is every
 *    other tensor sharing that one quantization).
 * 3. The input is already qint16, or not quantized at all (a high-precision or float tensor): unchanged.
 * 4. A model without Softmax: unchanged, `modified` is false.
 * Each change is reported as an info diagnostic naming the Softmax node.
 *
 * @type {Pass}
 */
export const int16IntoSoftmax = {
  info: {
    name: 'int16-into-softmax',
    summary: 'the tensor feeding every Softmax is quantized as int16, through pass-through ops',
    phase: 'prepare',
    // Run after the official passes so that the plan it edits is the one they leave.
    after: ['high-precision-output', 'reused-output-rescale'],
  },
  run(model, context) {
    const plan = quantPlanOf(model);
    let modified = false;
    for (const node of model.graph) {
      if (!SOFTMAX_OPS.includes(node.opType) || node.domain !== '') continue;
      const input = node.inputs[0];
      const entry = input && plan.activations.get(input);
      if (!entry) continue;
      const root = owner(plan, entry);
      if (root.dtype === 'qint16' && entry.dtype === 'qint16') continue;
      root.dtype = 'qint16';
      entry.dtype = 'qint16';
      context.diagnose({ level: 'info', node: node.name, message: `${root.value.name} → qint16 (input of Softmax ${node.name})` });
      modified = true;
    }
    return { model, modified };
  },
};
