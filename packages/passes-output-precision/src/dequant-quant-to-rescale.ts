import {
  INTEGER_DOMAIN,
  integerDtypeOf,
  isQuantkitNode,
  removeIfUnused,
  replaceNode,
  rescaleAttributes,
  scalesOf,
  stringAttribute,
  type Model,
  type Pass,
  type PassResult,
} from '@quantkit/core';

/**
 * dequant-quant-to-rescale (convert) — the seed's "the new dequant and quant become a rescale", DESIGN §6.
 *
 * A quantkit Quantize(s2) that reads the output of a quantkit Dequantize(s1) requantizes integers: the float tensor
 * between them is never needed for that. The pair becomes one Rescale of the Dequantize's input with
 * M_c = s1_c / s2 (multiplier / shift, per channel along the Dequantize's axis), which the BPU runs in integers (and
 * which fold-rescale-into-gemm can fold into the GEMM that produced the int32 tensor).
 *
 * Cases:
 * 1. The Dequantize's output is read only by the Quantize (and is not a graph output): the Quantize becomes a
 *    Rescale (out_dtype = the Quantize's dtype, out_scale = s2, unit 'bpu') and the Dequantize is removed.
 * 2. The float tensor has other users (the seed's case 2: it is also a graph output, or a float op reads it): the
 *    Dequantize stays for them and the Quantize still becomes a Rescale — nash-m's recipe: dequantize for the model
 *    output, rescale for the next conv. (DESIGN §6 says "with no other user"; this refines it.)
 * 3. A per-channel Dequantize (the int32 accumulator of a GEMM, s1_c = s_x · s_w[c]): a per-channel Rescale along
 *    the same axis.
 * 4. s1 = s2 per tensor and the Dequantize reads the Quantize's own integer type: no Rescale at all, the Quantize's
 *    readers read the Dequantize's input (M = 1 changes nothing), unless the Quantize's output is a graph output.
 * 5. A Quantize that does not read a Dequantize output: unchanged.
 * Runs after `float-output` when a march registers one (GEMMs that emit float32 keep their Quantize).
 */
export const dequantQuantToRescale: Pass = {
  info: {
    name: 'dequant-quant-to-rescale',
    phase: 'convert',
    summary: 'Dequantize → Quantize becomes an integer Rescale (M = s1 / s2)',
    after: ['float-output'],
  },
  run(model: Model): PassResult {
    const graph = model.graph;
    let modified = false;
    for (const quantize of graph.nodes()) {
      if (!quantize.graph || !isQuantkitNode(quantize, 'Quantize')) continue;
      const float = quantize.inputs[0];
      const dequantize = float?.producer();
      if (!float || !dequantize || !isQuantkitNode(dequantize, 'Dequantize')) continue;
      const source = dequantize.inputs[0]!;
      const s1 = scalesOf(dequantize);
      const s2 = scalesOf(quantize).scale[0]!;
      const dtype = stringAttribute(quantize, 'dtype');
      if (dtype !== 'int8' && dtype !== 'int16') continue;
      const output = quantize.outputs[0]!;
      if (s1.scale.length === 1 && s1.scale[0] === s2 && integerDtypeOf(source) === dtype && !output.isGraphOutput()) {
        output.replaceAllUsesWith(source);
        graph.remove(quantize);
      } else {
        replaceNode(quantize, {
          opType: 'Rescale',
          domain: INTEGER_DOMAIN,
          name: graph.uniqueName(`${quantize.name || output.name}_rescale`),
          inputs: [source],
          attributes: rescaleAttributes({
            m: s1.scale.map((s) => s / s2),
            axis: s1.axis,
            outDtype: dtype,
            outScale: s2,
            unit: 'bpu',
            what: `the rescale of ${source.name}`,
          }),
        });
      }
      removeIfUnused(graph, dequantize);
      modified = true;
    }
    return { model, modified };
  },
};
