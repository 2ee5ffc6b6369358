import { quantPlanOf, type Pass, type PassContext, type PassResult, type Model } from '@quantkit/core';
import { highPrecisionWanted } from './options.js';
import { dropQuantOnPath, onlyFeedsGraphOutputs } from './output-paths.js';

/**
 * high-precision-output (prepare) — the seed's case 1, DESIGN §6.
 *
 * Quantizing a model's output loses the most precision, so a GEMM-like op that ends the model keeps its
 * accumulator instead of requantizing it: int32 then dequantize on nash-m, float32 on nash-h, float in qat.onnx.
 *
 * Cases:
 * 1. A GEMM group whose output is a graph output read by no node: the output joins `plan.highPrecision` and
 *    loses its ActivationQuant.
 * 2. A GEMM group whose output reaches graph outputs only through Identity nodes (chained or not): the same,
 *    and the Identity outputs lose the quantization they shared with it.
 * 3. A GEMM group whose output is also read by another op (Identity that feeds an op included): unchanged;
 *    that is reused-output-rescale's case.
 * 4. A GEMM group whose output is not a graph output: unchanged.
 * 5. The template's `highPrecisionOutput` is false: nothing changes.
 * 6. A group output that has no ActivationQuant (not a float tensor): unchanged.
 */
export const highPrecisionOutput: Pass = {
  info: {
    name: 'high-precision-output',
    phase: 'prepare',
    summary: 'GEMM-like ops that only feed graph outputs keep a high-precision (int32 / float32) output',
  },
  run(model: Model, context: PassContext): PassResult {
    if (!highPrecisionWanted(context)) return { model, modified: false };
    const plan = quantPlanOf(model);
    let modified = false;
    for (const group of plan.groups) {
      const output = group.output;
      if (!plan.activations.has(output) || !onlyFeedsGraphOutputs(output)) continue;
      plan.activations.delete(output);
      for (const use of output.uses()) dropQuantOnPath(plan, use);
      plan.highPrecision.add(output);
      modified = true;
    }
    return { model, modified };
  },
};
