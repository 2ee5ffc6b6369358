import { quantPlanOf, type Model, type Pass, type PassContext, type PassResult } from '@quantkit/core';
import { highPrecisionWanted } from './options.js';
import { dropQuantOnPath, isPathToGraphOutput } from './output-paths.js';

/**
 * reused-output-rescale (prepare) — the seed's case 2, DESIGN §6.
 *
 * A GEMM-like output that is a model output AND the input of other ops: the J6 recipe dequantizes it for the
 * model output and quantizes it again for the next op, so the GEMM keeps its high-precision output and the
 * dequant → quant pair becomes a rescale (nash-m) or a VPU quantize (nash-h). quantkit does this without
 * hand-inserted stubs.
 *
 * Cases:
 * 1. A GEMM group output that is a graph output and is read by other ops: it joins `plan.highPrecision`; its
 *    ActivationQuant keeps, in `uses`, only the inputs of those ops. In qat.onnx the Q/DQ sits on those edges
 *    and the graph output reads the unquantized tensor.
 * 2. The graph output is reached through Identity nodes that lead only to graph outputs: the same; those
 *    Identity uses are left out of `uses` and the Identity outputs lose the quantization they shared.
 * 3. The only way to a graph output is an Identity whose output also feeds an op: unchanged (that Identity is a
 *    consumer; the tensor it passes on is quantized).
 * 4. `options.reusedOutputs` is 'quantize': nothing changes — the whole tensor is quantized, the graph output
 *    included (the old behaviour).
 * 5. The template's `highPrecisionOutput` is false: nothing changes.
 * 6. A group output that only feeds graph outputs (high-precision-output's case), that is not a graph output,
 *    or that has no ActivationQuant: unchanged.
 */
export const reusedOutputRescale: Pass = {
  info: {
    name: 'reused-output-rescale',
    phase: 'prepare',
    summary: 'a GEMM-like output that is a graph output and feeds other ops stays high precision; the ops get a quantized copy',
    after: ['high-precision-output'],
  },
  run(model: Model, context: PassContext): PassResult {
    if (context.options.reusedOutputs === 'quantize' || !highPrecisionWanted(context)) return { model, modified: false };
    const plan = quantPlanOf(model);
    let modified = false;
    for (const group of plan.groups) {
      const output = group.output;
      const entry = plan.activations.get(output);
      if (!entry) continue;
      const uses = output.uses();
      const exits = uses.filter(isPathToGraphOutput);
      const consumers = uses.filter((use) => !exits.includes(use));
      if (consumers.length === 0 || (!output.isGraphOutput() && exits.length === 0)) continue;
      entry.uses = consumers;
      for (const use of exits) dropQuantOnPath(plan, use);
      plan.highPrecision.add(output);
      modified = true;
    }
    return { model, modified };
  },
};
