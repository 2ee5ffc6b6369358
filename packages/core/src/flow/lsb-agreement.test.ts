import { describe, expect, it } from 'vitest';
import { DataType } from '../ir/dtype.js';
import { IntegerGraphBuilder } from '../integer/integer-builder.js';
import { countWithinLsb, lsbAgreement, outputLsb } from './lsb-agreement.js';

describe('lsbAgreement', () => {
  it('counts the elements within one LSB, per element when the LSB is per channel', () => {
    const reference = Float32Array.of(0, 1, 2, 3);
    const test = Float32Array.of(0.5, 1.2, 2.9, 3);
    expect(lsbAgreement(reference, test, 0.5)).toBe(0.75);
    expect(lsbAgreement(reference, test, Float32Array.of(0.1, 0.1, 1, 1))).toBe(0.5);
  });

  it('counts within one LSB so that samples sum: two halves give the whole', () => {
    const reference = Float32Array.of(0, 1, 2, 3);
    const test = Float32Array.of(0.5, 1.2, 2.9, 3);
    const halves = countWithinLsb(reference.subarray(0, 2), test.subarray(0, 2), 0.5) + countWithinLsb(reference.subarray(2), test.subarray(2), 0.5);
    expect(halves).toBe(3);
    expect(halves / 4).toBe(lsbAgreement(reference, test, 0.5));
  });

  it('is 1 for empty tensors', () => {
    expect(lsbAgreement(new Float32Array(0), new Float32Array(0), 1)).toBe(1);
  });
});

describe('outputLsb', () => {
  it("is the scale of an output dequantized from int8 or int16, per channel along the Dequantize's axis", () => {
    const b = new IntegerGraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [1, 2, 2]);
    const q = b.quantize(x, { scale: 0.5, dtype: 'int8' });
    const perTensor = b.dequantize(q, { scale: 0.5, name: 'per_tensor' });
    const q16 = b.quantize(x, { scale: 0.25, dtype: 'int16' });
    const perChannel = b.dequantize(q16, { scale: [0.25, 2], axis: 1, name: 'per_channel' });
    b.output(perTensor);
    b.output(perChannel);
    const model = b.model({ '': 21, quantkit: 1 });
    const reference = Float32Array.of(1, 2, 3, 4);
    expect(outputLsb(model, perTensor.name, [1, 2, 2], reference)).toBe(0.5);
    expect([...(outputLsb(model, perChannel.name, [1, 2, 2], reference) as Float32Array)]).toEqual([0.25, 0.25, 2, 2]);
  });

  it('is max |float output| / 32767 for an output that is not dequantized from int8 / int16', () => {
    const b = new IntegerGraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [4]);
    const [y] = b.node('Relu', [x], { name: 'relu' });
    b.output(y!, DataType.FLOAT, [4]);
    expect(outputLsb(b.model(), y!.name, [4], Float32Array.of(-3, 1, 2, 0))).toBeCloseTo(3 / 32767, 12);
  });
});
