import {
  clipOf,
  floatsAttribute,
  isIntegerGemm,
  isQuantkitNode,
  sameChannelAxis,
  scalesOf,
  setUnit,
  stringAttribute,
  Value,
  type Model,
  type Node,
  type Pass,
  type PassContext,
  type PassResult,
} from '@quantkit/core';
import { nashH } from './nash-h.js';

/**
 * float-output (convert, nash-h) — the seed's J6P / J6H lowering, DESIGN §6.
 *
 * Nash-H GEMM-like ops can emit float32 directly (the output stage scales the int32 accumulator by s_x · s_w[c]), so
 * a high-precision output needs no int32 tensor and no CPU dequantize. Runs before dequant-quant-to-rescale (which
 * names this pass in its `after`), while the GEMM's int32 output still goes to its Dequantize.
 *
 * Cases:
 * 1. A quantkit GEMM with out_dtype 'int32' and no clip, whose accumulator is not a graph output and is read only
 *    by one Dequantize of scale float32(x_scale · w_scale[c]) along the GEMM's output channels, where the
 *    Dequantize's float output is a graph output or is read by something other than a Quantize: the GEMM emits
 *    out_dtype 'float32' into that float tensor (its name kept) and the Dequantize is removed.
 * 2. Quantize readers of that float tensor stay, as VPU Quantizes (unit 'vpu'): the seed's reused output, a float32
 *    model output that also feeds the next conv through a VPU quantize (float32 → int16 / int8).
 * 3. A Dequantize read only by Quantize nodes (an ordinary quantized output): unchanged; dequant-quant-to-rescale
 *    and fold-rescale-into-gemm make it an int8 / int16 output.
 * 4. A Dequantize whose scales are not the GEMM's float32(x_scale · w_scale[c]): unchanged.
 * 5. Option integerConv (the seed's `_integer_conv = True`): nothing changes, so nash-h lowers exactly as nash-m.
 * 6. Another march: nothing changes.
 */
export const nashHFloatOutput: Pass = {
  info: {
    name: 'float-output',
    phase: 'convert',
    march: 'nash-h',
    summary: 'nash-h: GEMM-like ops with a high-precision output emit float32 directly (not with integerConv)',
  },
  run(model: Model, context: PassContext): PassResult {
    if (context.march !== nashH.name || context.options.integerConv === true) return { model, modified: false };
    const graph = model.graph;
    let modified = false;
    for (const gemm of graph.nodes()) {
      const dequantize = floatTail(gemm);
      if (!dequantize) continue;
      const output = dequantize.outputs[0]!;
      const quantizes = output.uses().filter(({ node }) => isQuantkitNode(node, 'Quantize'));
      dequantize.replaceOutput(0, new Value(''));
      graph.remove(dequantize, { force: true });
      gemm.replaceOutput(0, output);
      gemm.setAttribute('out_dtype', 'float32');
      for (const { node } of quantizes) setUnit(node, 'vpu');
      modified = true;
    }
    return { model, modified };
  },
};

/** The Dequantize of case 1 behind `gemm`, or undefined. */
function floatTail(gemm: Node): Node | undefined {
  if (!isIntegerGemm(gemm) || stringAttribute(gemm, 'out_dtype') !== 'int32') return undefined;
  const clip = clipOf(gemm);
  if (clip.min !== undefined || clip.max !== undefined) return undefined;
  const acc = gemm.outputs[0]!;
  const uses = acc.uses();
  if (acc.isGraphOutput() || uses.length !== 1) return undefined;
  const dequantize = uses[0]!.node;
  if (!isQuantkitNode(dequantize, 'Dequantize')) return undefined;
  const output = dequantize.outputs[0]!;
  const floatReader = output.uses().some(({ node }) => !isQuantkitNode(node, 'Quantize'));
  if (!output.isGraphOutput() && !floatReader) return undefined;
  const xScale = floatsAttribute(gemm, 'x_scale')?.[0];
  const wScale = floatsAttribute(gemm, 'w_scale');
  if (xScale === undefined || !wScale) return undefined;
  const { scale, axis } = scalesOf(dequantize);
  if (scale.length !== wScale.length) return undefined;
  if (scale.length > 1 && !sameChannelAxis(gemm.opType, axis)) return undefined;
  return scale.every((s, c) => s === Math.fround(xScale * wScale[c]!)) ? dequantize : undefined;
}
