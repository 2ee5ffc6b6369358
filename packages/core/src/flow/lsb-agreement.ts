import { integerDtypeOf, isQuantkitNode, scalesOf } from '../convert/integer-nodes.js';
import type { Model } from '../ir/model.js';

/**
 * The LSB of each graph output of an integer model (issue 4's definition): for an output dequantized from int8 /
 * int16, its scale (per element when the scale is per channel); for an int32 or float32 output, max|float output|
 * / 32767 — a 16-bit resolution of the output's range.
 */
export function outputLsb(integer: Model, output: string, dims: readonly number[], floatReference: Float32Array): Float32Array | number {
  const value = integer.graph.outputs.find((v) => v.name === output);
  const producer = value?.producer();
  if (isQuantkitNode(producer, 'Dequantize')) {
    const dtype = integerDtypeOf(producer!.inputs[0]);
    if (dtype === 'int8' || dtype === 'int16') {
      const { scale: scales, axis: channelAxis } = scalesOf(producer!);
      if (scales.length === 1) return scales[0]!;
      const rank = dims.length;
      const axis = (channelAxis + rank) % rank;
      const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      const channels = dims[axis] ?? 1;
      const lsb = new Float32Array(floatReference.length);
      for (let i = 0; i < lsb.length; i++) lsb[i] = scales[Math.floor(i / inner) % channels]!;
      return lsb;
    }
  }
  let max = 0;
  for (const x of floatReference) max = Math.max(max, Math.abs(x));
  return max / 32767;
}

/** The fraction of elements of `test` within one LSB of `reference` (the QDQ simulation's output). */
export function lsbAgreement(reference: Float32Array, test: Float32Array, lsb: Float32Array | number): number {
  if (reference.length === 0) return 1;
  return countWithinLsb(reference, test, lsb) / reference.length;
}

/** How many elements of `test` are within one LSB of `reference`: lsbAgreement's numerator, to sum over samples. */
export function countWithinLsb(reference: Float32Array, test: Float32Array, lsb: Float32Array | number): number {
  let within = 0;
  for (let i = 0; i < reference.length; i++) {
    const tolerance = (typeof lsb === 'number' ? lsb : lsb[i]!) * (1 + 1e-6);
    if (Math.abs(reference[i]! - test[i]!) <= tolerance) within++;
  }
  return within;
}
