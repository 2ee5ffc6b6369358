import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { verifyModel } from '../ir/verify.js';
import { interpret } from '../integer/interpreter.js';
import { lowerToStandard } from '../integer/lower.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';
import { nodeNamed, opSequence, qdq, type Act } from './__fixtures__/qdq-graphs.js';
import { intsAttribute, stringAttribute } from './integer-nodes.js';
import { lowerQdq } from './lower-qdq.js';

/**
 * integer-scale-shift through lowerQdq: DQ → BatchNormalization (a standalone scale-shift) → Q becomes one integer
 * quantkit::ScaleShift; the interpreter and the onnxruntime lowering agree bit for bit and both agree with the QDQ
 * model run in onnxruntime within one output step, on every input code of each channel.
 */

const CHANNELS = 4;
const SCALE = [1.5, -0.7, 0.002, 40];
const B = [0.3, -1, 0.05, 900];

/** input [1, 4, codes] → Q/DQ → BatchNormalization (constant parameters) → Q/DQ → output. */
function scaleShiftModel(inDtype: Act, outDtype: Act, options: { computedScale?: boolean } = {}): Model {
  const b = new GraphBuilder('scale-shift');
  const codes = inDtype === 'int8' ? 256 : 65536;
  const input = b.input('input', DataType.FLOAT, [1, CHANNELS, codes]);
  const x = qdq(b, input, inScale(inDtype), inDtype, 'x');
  const param = (label: string, values: number[]) => b.initializer(`bn_${label}`, new Float32Array(values), [CHANNELS]);
  let scale = param('scale', SCALE);
  if (options.computedScale) scale = b.node('Abs', [scale], { name: 'abs' })[0]!;
  const inputs = [scale, param('B', B), param('mean', [0.1, -0.2, 0, 1]), param('var', [1, 2, 0.5, 4])];
  const [y] = b.node('BatchNormalization', [x, ...inputs], { name: 'bn', attributes: { epsilon: 1e-5 } });
  b.output(qdq(b, y!, outScale(outDtype), outDtype, 'y'), DataType.FLOAT);
  return b.model({ '': 21 });
}

const inScale = (dtype: Act) => (dtype === 'int8' ? 4 / 127 : 4 / 32767);
const outScale = (dtype: Act) => (dtype === 'int8' ? 5 / 127 : 5 / 32767);

/** Every input code once per channel. */
function sweep(inDtype: Act): Map<string, NpyArray> {
  const [min, count] = inDtype === 'int8' ? [-128, 256] : [-32768, 65536];
  const s = Math.fround(inScale(inDtype));
  const data = Float32Array.from({ length: CHANNELS * count }, (_, i) => Math.fround((min + (i % count)) * s));
  return new Map([['input', { dtype: 'float32', shape: [1, CHANNELS, count], data }]]);
}

async function ort(m: Model, feeds: Map<string, NpyArray>): Promise<Float32Array> {
  const session = await createSession(m, { threads: 1, graphOptimizationLevel: 'basic' });
  try {
    return [...(await runSession(session, feeds)).values()][0]!.data as Float32Array;
  } finally {
    await releaseSession(session);
  }
}

describe('integer-scale-shift', () => {
  const cases: [Act, Act][] = [
    ['int8', 'int8'],
    ['int16', 'int16'],
    ['int8', 'int16'],
  ];
  for (const [inDtype, outDtype] of cases) {
    it(`1-3. ${inDtype} → ${outDtype}: one ScaleShift, bit-exact in onnxruntime, within one step of the QDQ model on every code`, async () => {
      const qdqModel = scaleShiftModel(inDtype, outDtype);
      const { model: integer, fallback } = lowerQdq(qdqModel);
      expect(fallback).toEqual([]);
      verifyModel(integer);
      expect(opSequence(integer)).toEqual(['quantkit::Quantize', 'quantkit::ScaleShift', 'quantkit::Dequantize']);
      const node = integer.graph.nodes()[1]!;
      expect(node.outputs[0]!.name).toBe('y_quantized');
      expect(stringAttribute(node, 'unit')).toBe('vpu');
      // The negative BatchNormalization scale of channel 1 is a negative multiplier.
      expect(intsAttribute(node, 'multiplier')![1]).toBeLessThan(0);
      expect([...integer.graph.initializers.keys()].filter((name) => name.startsWith('bn_'))).toEqual([]);
      const feeds = sweep(inDtype);
      const interpreted = [...interpret(integer, feeds).values()][0]!.data as Float32Array;
      const lowered = await ort(lowerToStandard(integer), feeds);
      expect([...lowered]).toEqual([...interpreted]);
      const simulated = await ort(qdqModel, feeds);
      const step = Math.fround(outScale(outDtype));
      // In output codes: two float32 dequantized values one code apart differ by the step up to float32 rounding.
      const off = [...simulated].filter((v, i) => Math.abs(Math.round(v / step) - Math.round(interpreted[i]! / step)) > 1).length;
      expect(off).toBe(0);
      const exact = [...simulated].filter((v, i) => v === interpreted[i]).length;
      expect(exact / simulated.length).toBeGreaterThan(0.99);
    });
  }

  it('1. a BatchNormalization whose scale is computed at run time stays a float island', () => {
    const { model } = lowerQdq(scaleShiftModel('int8', 'int8', { computedScale: true }));
    expect(opSequence(model)).not.toContain('quantkit::ScaleShift');
    expect(nodeNamed(model, 'bn').domain).toBe('quantkit');
  });

  it('1. a BatchNormalization whose output is a graph output stays a float island', () => {
    const b = new GraphBuilder('output');
    const input = b.input('input', DataType.FLOAT, [1, CHANNELS, 8]);
    const x = qdq(b, input, 0.03, 'int8', 'x');
    const param = (label: string, value: number) => b.initializer(`bn_${label}`, new Float32Array(CHANNELS).fill(value), [CHANNELS]);
    const [y] = b.node('BatchNormalization', [x, param('scale', 2), param('B', 0.5), param('mean', 0), param('var', 1)], { name: 'bn' });
    b.output(y!, DataType.FLOAT);
    const { model } = lowerQdq(b.model({ '': 21 }));
    expect(opSequence(model)).toEqual(['quantkit::Quantize', 'quantkit::Dequantize', 'quantkit::BatchNormalization']);
  });
});
