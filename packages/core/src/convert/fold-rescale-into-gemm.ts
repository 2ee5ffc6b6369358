import { Attribute } from '../ir/attribute.js';
import type { Model } from '../ir/model.js';
import { Value } from '../ir/value.js';
import {
  clipAttributes,
  clipOf,
  floatsAttribute,
  intAttribute,
  intsAttribute,
  isIntegerGemm,
  isQuantkitNode,
  sameChannelAxis,
  stringAttribute,
} from './integer-nodes.js';

/**
 * fold-rescale-into-gemm — the primitive behind each march's pass of that name (a plugin never imports another
 * plugin, so nash-m and nash-h both wrap this one).
 *
 * A quantkit Conv / Gemm / MatMul whose int32 accumulator is only rescaled to int8 / int16 requantizes itself: the
 * BPU does it in the output stage, so the int32 tensor never reaches memory.
 *
 * Cases:
 * 1. A GEMM with out_dtype 'int32' and no clip whose output is not a graph output and is read only by one Rescale:
 *    the GEMM takes the Rescale's out_dtype, multiplier / shift (one per output channel; a per-tensor pair is
 *    repeated), clip_min / clip_max and out_scale, relu = the GEMM's or the Rescale's, and emits the Rescale's
 *    output; the Rescale is removed. Exact: the Rescale is monotonic and maps 0 to 0, so relu before or after it
 *    gives the same integers.
 * 2. The accumulator has another reader (a Dequantize for a graph output: the seed's reused output), or is a graph
 *    output: unchanged.
 * 3. A per-channel Rescale along another axis than the GEMM's output channels, or with another channel count than
 *    w_scale: unchanged.
 * 4. A GEMM that already requantizes (out_dtype int8 / int16 / float32), or clips its int32 output: unchanged.
 * Returns how many GEMMs it folded.
 */
export function foldRescaleIntoGemm(model: Model): number {
  const graph = model.graph;
  let folded = 0;
  for (const gemm of graph.nodes()) {
    if (!isIntegerGemm(gemm) || stringAttribute(gemm, 'out_dtype') !== 'int32') continue;
    const gemmClip = clipOf(gemm);
    if (gemmClip.min !== undefined || gemmClip.max !== undefined) continue;
    const acc = gemm.outputs[0]!;
    const uses = acc.uses();
    if (acc.isGraphOutput() || uses.length !== 1) continue;
    const rescale = uses[0]!.node;
    if (!isQuantkitNode(rescale, 'Rescale') || rescale.inputs[0] !== acc) continue;
    const multiplier = intsAttribute(rescale, 'multiplier');
    const shift = intsAttribute(rescale, 'shift');
    const outDtype = stringAttribute(rescale, 'out_dtype');
    if (!multiplier || !shift || multiplier.length !== shift.length || (outDtype !== 'int8' && outDtype !== 'int16')) continue;
    const channels = floatsAttribute(gemm, 'w_scale')?.length ?? 1;
    if (multiplier.length > 1) {
      if (multiplier.length !== channels) continue;
      if (!sameChannelAxis(gemm.opType, intAttribute(rescale, 'axis') ?? 1)) continue;
    }
    const repeat = (values: number[]) => (values.length === 1 ? Array.from({ length: channels }, () => values[0]!) : values);
    const relu = intAttribute(gemm, 'relu') === 1 || intAttribute(rescale, 'relu') === 1;
    gemm.setAttribute('out_dtype', outDtype);
    gemm.attributes.set('multiplier', Attribute.ints('multiplier', repeat(multiplier)));
    gemm.attributes.set('shift', Attribute.ints('shift', repeat(shift)));
    const outScale = floatsAttribute(rescale, 'out_scale');
    if (outScale?.length === 1) gemm.attributes.set('out_scale', Attribute.float('out_scale', outScale[0]!));
    if (relu) gemm.attributes.set('relu', Attribute.int('relu', 1));
    for (const attribute of clipAttributes(clipOf(rescale))) gemm.attributes.set(attribute.name, attribute);
    const output = rescale.outputs[0]!;
    rescale.replaceOutput(0, new Value(''));
    graph.remove(rescale, { force: true });
    gemm.replaceOutput(0, output);
    folded++;
  }
  return folded;
}
