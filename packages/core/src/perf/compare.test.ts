import { describe, expect, it } from 'vitest';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { IntegerGraphBuilder } from '../integer/integer-builder.js';
import { testMarch } from './__fixtures__/test-march.js';
import { NASH_H_VARIANTS, perfCompare } from './compare.js';

/**
 * The seed's reuse case after linear1: y = linear2(x) is a model output and feeds linear3, whose output z is the
 * other model output. floatOutput: both GEMMs emit float32, y gets a VPU Quantize for linear3. integerConv: both
 * emit int32, a Rescale feeds linear3, and the host dequantizes y and z.
 */
function reuse(variant: 'float' | 'integer'): Model {
  const b = new IntegerGraphBuilder(variant);
  const x = b.quantize(b.input('x', DataType.FLOAT, [2, 100, 256]), { scale: 0.05, dtype: 'int8', name: 'x_quantize' });
  const w2 = b.initializer('w2', Tensor.fromArray(new Int8Array(256 * 60), [256, 60]));
  const w3 = b.initializer('w3', Tensor.fromArray(new Int8Array(60 * 60), [60, 60]));
  const scales = new Array<number>(60).fill(0.01);
  const out = variant === 'float' ? 'float32' : 'int32';
  const acc2 = b.matmul(x, w2, undefined, { name: 'linear2', outDtype: out, xScale: 0.05, wScale: scales });
  const y3in =
    variant === 'float'
      ? b.quantize(acc2, { scale: 0.02, dtype: 'int8', unit: 'vpu', name: 'y_quantize' })
      : b.rescale(acc2, { multiplier: [3000000], shift: [30], outDtype: 'int8', name: 'y_rescale' });
  const acc3 = b.matmul(y3in, w3, undefined, { name: 'linear3', outDtype: out, xScale: 0.02, wScale: scales });
  if (variant === 'float') {
    b.output(acc3);
    b.output(acc2);
  } else {
    b.output(b.dequantize(acc3, { scale: scales, axis: 2, unit: 'cpu', name: 'z_dequantize' }));
    b.output(b.dequantize(acc2, { scale: scales, axis: 2, unit: 'cpu', name: 'y_dequantize' }));
  }
  return b.model();
}

describe('perfCompare', () => {
  const march = testMarch();
  const comparison = perfCompare(
    { label: NASH_H_VARIANTS.floatOutput, model: reuse('float') },
    { label: NASH_H_VARIANTS.integerConv, model: reuse('integer') },
    march,
  );
  const [float, integer] = comparison.variants;

  it('estimates both variants on one chip, labelled, with the CPU dequantize only where outputs leave as int32', () => {
    expect(comparison).toMatchObject({ estimate: true, march: 'test-march', chip: 'T1' });
    expect(float!.variant).toBe('float-output');
    expect(integer!.variant).toBe('integer-conv');
    expect(float!.totals.cpuDequantizeUs).toBe(0);
    expect(integer!.outputs.map((o) => [o.dtype, o.node])).toEqual([
      ['int32', 'z_dequantize'],
      ['int32', 'y_dequantize'],
    ]);
    expect(integer!.totals.cpuDequantizeUs).toBeGreaterThan(0);
  });

  it('reports the difference of every total (second − first) and the faster variant', () => {
    for (const key of Object.keys(comparison.difference) as (keyof typeof comparison.difference)[]) {
      expect(comparison.difference[key]).toBeCloseTo(integer!.totals[key] - float!.totals[key], 9);
    }
    expect(comparison.difference.macs).toBe(0);
    const expected = integer!.totals.latencyUs < float!.totals.latencyUs ? 'integer-conv' : 'float-output';
    expect(comparison.faster).toBe(expected);
    expect(comparison.summary).toContain(`${expected} is estimated faster`);
    expect(comparison.summary).toMatch(/estimate/);
  });

  it('lets a cheap enough host dequantize turn the verdict: the comparison follows the parameters', () => {
    const free = perfCompare(
      { label: 'float-output', model: reuse('float') },
      { label: 'integer-conv', model: reuse('integer') },
      march,
      { params: { cpu: { elementsPerSecond: { dequantize: 1e15 }, opOverheadSeconds: 0 }, bpu: { float32OutputElementsPerSecond: 1e6 } } },
    );
    expect(free.faster).toBe('integer-conv');
    expect(comparison.faster).toBe('float-output');
  });

  it('refuses two variants with one label', () => {
    expect(() => perfCompare({ label: 'a', model: reuse('float') }, { label: 'a', model: reuse('integer') }, march)).toThrow(
      expect.objectContaining({ code: 'QK_USAGE' }),
    );
  });
});
