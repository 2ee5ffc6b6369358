import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { nodeTrait } from '../ops/op-traits.js';
import { constantSource } from '../qdq/constant-source.js';
import {
  integerDtypeOf,
  isQuantkitNode,
  ONNX_DTYPE,
  removeIfUnused,
  scalesOf,
  setElemType,
  stringAttribute,
} from './integer-nodes.js';

/**
 * integer-pass-through — the primitive behind each march's pass of that name.
 *
 * A pass-through op (Reshape, Transpose, MaxPool, Flatten, Concat, a nearest Resize, …: nodeTrait 'passthrough') only moves or selects
 * values, so between a Dequantize and a Quantize of the same scale and type it computes the same integers on the
 * integer tensor: Quantize(P(Dequantize(q, s)), s) = P(q). The pair goes and P runs on q.
 *
 * Cases:
 * 1. A standard pass-through op whose data input (input 0) is a quantkit Dequantize output with one scale s, and
 *    whose outputs are read only by quantkit Quantize nodes of scale s and of the Dequantize input's integer type:
 *    the op reads the integer tensor, its outputs take that type, the Quantize nodes are removed (their readers
 *    read the op's outputs) and the Dequantize is removed when nothing else reads it.
 * 2. Concat: every input must be such a Dequantize output, all of one scale and type.
 * 3. An output that is a graph output, is read by anything but such a Quantize, or no Quantize reads any output:
 *    unchanged (the op stays float between the Dequantize and its readers).
 * 4. Pad: a zero constant_value (or one that mode 'reflect' / 'edge' ignores) is dropped, as the default pads
 *    integers with 0 too; a non-zero one leaves the op unchanged.
 * 5. Per-channel Dequantize, or a Dequantize whose input type cannot be told: unchanged.
 * 6. MaxPool's Indices output (int64) is not data: it keeps its type, and whatever reads it does not matter.
 * Nodes are visited in graph order, so chains (Reshape → Transpose → …) become integer in one run. Returns how many
 * ops now run on integers.
 */
export function integerPassThrough(model: Model): number {
  const graph = model.graph;
  let count = 0;
  for (const node of graph.nodes()) {
    if (!node.graph || (node.domain !== '' && node.domain !== 'ai.onnx') || nodeTrait(node) !== 'passthrough') continue;
    const dataIndices = node.opType === 'Concat' ? node.inputs.map((_, i) => i) : [0];
    const reads = dataIndices.map((i) => integerSource(node.inputs[i]));
    const first = reads[0];
    if (!first || reads.some((r) => !r || r.scale !== first.scale || r.dtype !== first.dtype)) continue;
    const pad = padValue(node);
    if (pad === 'nonzero') continue;
    // MaxPool's optional second output holds int64 indices, not data: it keeps its type and its readers.
    const dataOutputs = node.opType === 'MaxPool' ? node.outputs.slice(0, 1) : node.outputs;
    const quantizes: Node[] = [];
    const fits = dataOutputs.every((output) => {
      if (output.isGraphOutput()) return false;
      return output.uses().every(({ node: reader, index }) => {
        if (!isQuantkitNode(reader, 'Quantize') || index !== 0) return false;
        const { scale } = scalesOf(reader);
        const quantized = reader.outputs[0]!;
        if (scale[0] !== first.scale || stringAttribute(reader, 'dtype') !== first.dtype || quantized.isGraphOutput()) return false;
        quantizes.push(reader);
        return true;
      });
    });
    if (!fits || quantizes.length === 0) continue;
    if (pad === 'zero') {
      if (node.inputs.length === 3) node.truncateInputs(2);
      else node.setInput(2, undefined);
    }
    reads.forEach((read, k) => node.setInput(dataIndices[k]!, read!.dequantize.inputs[0]));
    for (const output of dataOutputs) setElemType(output, ONNX_DTYPE[first.dtype]);
    for (const quantize of quantizes) {
      const output = quantize.inputs[0]!;
      quantize.outputs[0]!.replaceAllUsesWith(output);
      graph.remove(quantize);
    }
    for (const read of reads) removeIfUnused(graph, read!.dequantize);
    count++;
  }
  return count;
}

interface IntegerSource {
  dequantize: Node;
  scale: number;
  dtype: 'int8' | 'int16';
}

/** The per-tensor quantkit Dequantize of an int8 / int16 tensor that produces `value`. */
function integerSource(value: Value | undefined): IntegerSource | undefined {
  const dequantize = value?.producer();
  if (!dequantize || !isQuantkitNode(dequantize, 'Dequantize')) return undefined;
  const { scale } = scalesOf(dequantize);
  const dtype = integerDtypeOf(dequantize.inputs[0]);
  if (scale.length !== 1 || (dtype !== 'int8' && dtype !== 'int16')) return undefined;
  return { dequantize, scale: scale[0]!, dtype };
}

/** Pad's constant_value: absent (also for other ops), a zero constant, or something else. */
function padValue(node: Node): 'none' | 'zero' | 'nonzero' {
  if (node.opType !== 'Pad') return 'none';
  const mode = node.attribute('mode')?.asString() ?? 'constant';
  const value = node.inputs[2];
  if (!value || value.name === '') return 'none';
  // Other modes ignore the value, but ONNX still wants it of the data's type: drop it as a zero one.
  if (mode !== 'constant') return 'zero';
  const tensor = constantSource(value)?.tensor;
  return tensor && tensor.toFloat32().every((v) => v === 0) ? 'zero' : 'nonzero';
}
