import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { verifyModel } from '../ir/verify.js';
import { interpret } from '../integer/interpreter.js';
import { dequantize, floatFeed, integerMatMul, quantize, rescale } from './__fixtures__/integer-graphs.js';
import { nodeNamed, opSequence } from './__fixtures__/qdq-graphs.js';
import { foldRescaleIntoGemm } from './fold-rescale-into-gemm.js';
import { floatsAttribute, intAttribute, intsAttribute, stringAttribute } from './integer-nodes.js';

/** input → Quantize → MatMul (int32) → Rescale(…) → Dequantize → output, plus whatever `extra` adds. */
function model(options: { perChannel?: boolean; axis?: number; relu?: boolean; clip?: boolean; gemmRelu?: boolean; extra?: 'dequantize' } = {}) {
  const b = new GraphBuilder();
  const x = quantize(b, b.input('input', DataType.FLOAT, [2, 3, 8]), 0.01, 'int16');
  const { acc, wScale } = integerMatMul(b, x, 8, 4, 0.01, { relu: options.gemmRelu });
  const accScale = wScale.map((w) => Math.fround(Math.fround(0.01) * Math.fround(w)));
  const m = options.perChannel === false ? [accScale[0]! / 0.05] : accScale.map((s) => s / 0.05);
  const y = rescale(
    b,
    acc,
    {
      m,
      axis: options.axis ?? -1,
      outDtype: 'int8',
      relu: options.relu,
      clip: options.clip ? { min: -20, max: 30 } : undefined,
      outScale: 0.05,
    },
    'rescale',
  );
  b.output(dequantize(b, y, [0.05]), DataType.FLOAT);
  if (options.extra === 'dequantize') b.output(dequantize(b, acc, accScale, -1), DataType.FLOAT);
  return b.model();
}

function run(m: Model) {
  const outputs = interpret(m, floatFeed('input', [2, 3, 8], 1));
  // The comparison means something only when the int8 outputs are spread, not saturated.
  const first = outputs.values().next().value!.data as Float32Array;
  expect(new Set(first).size).toBeGreaterThan(8);
  return outputs;
}

describe('foldRescaleIntoGemm', () => {
  it('1. a GEMM read only by a per-channel Rescale requantizes itself, computing the same integers', () => {
    const before = model();
    const after = cloneModel(before);
    expect(foldRescaleIntoGemm(after)).toBe(1);
    verifyModel(after);
    expect(opSequence(after)).toEqual(['quantkit::Quantize', 'quantkit::MatMul', 'quantkit::Dequantize']);
    const mm = nodeNamed(after, 'mm');
    const rescaleNode = nodeNamed(before, 'rescale');
    expect(stringAttribute(mm, 'out_dtype')).toBe('int8');
    expect(intsAttribute(mm, 'multiplier')).toEqual(intsAttribute(rescaleNode, 'multiplier'));
    expect(intsAttribute(mm, 'shift')).toEqual(intsAttribute(rescaleNode, 'shift'));
    expect(floatsAttribute(mm, 'out_scale')).toEqual([Math.fround(0.05)]);
    expect(run(after)).toEqual(run(before));
  });

  it('1. a per-tensor Rescale is repeated per channel; relu and clip move to the GEMM', () => {
    for (const options of [{ perChannel: false }, { relu: true }, { clip: true }, { gemmRelu: true, clip: true }]) {
      const before = model(options);
      const after = cloneModel(before);
      expect(foldRescaleIntoGemm(after)).toBe(1);
      const mm = nodeNamed(after, 'mm');
      expect(intsAttribute(mm, 'multiplier')).toHaveLength(4);
      expect(intAttribute(mm, 'relu')).toBe(options.relu || options.gemmRelu ? 1 : undefined);
      expect(intAttribute(mm, 'clip_max')).toBe(options.clip ? 30 : undefined);
      expect(run(after)).toEqual(run(before));
    }
  });

  it('2. an accumulator also read by a Dequantize (a reused output) is left alone', () => {
    const m = model({ extra: 'dequantize' });
    expect(foldRescaleIntoGemm(m)).toBe(0);
    expect(stringAttribute(nodeNamed(m, 'mm'), 'out_dtype')).toBe('int32');
  });

  it('3. a per-channel Rescale along another axis is left alone', () => {
    expect(foldRescaleIntoGemm(model({ axis: 1 }))).toBe(0);
  });

  it('4. a GEMM that already requantizes is left alone', () => {
    const b = new GraphBuilder();
    const x = quantize(b, b.input('input', DataType.FLOAT, [2, 8]), 0.01);
    const { acc } = integerMatMul(b, x, 8, 4, 0.01, { outDtype: 'int16' });
    b.output(dequantize(b, rescale(b, acc, { m: [0.5], outDtype: 'int8' }), [1]), DataType.FLOAT);
    expect(foldRescaleIntoGemm(b.model())).toBe(0);
  });
});
