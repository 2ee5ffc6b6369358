import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { verifyModel } from '../ir/verify.js';
import { interpret } from '../integer/interpreter.js';
import { lowerToStandard } from '../integer/lower.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';
import { accScale, constDq, ints, nodeNamed, opSequence, qdq, type Act } from './__fixtures__/qdq-graphs.js';
import { intAttribute, stringAttribute } from './integer-nodes.js';
import { lowerQdq } from './lower-qdq.js';

/**
 * fuse-epilogue through lowerQdq: a Conv (or MatMul) group whose chain of activations / scale-shifts is quantized
 * once at its end becomes Conv (int32) → one quantkit::Epilogue; the interpreter and the onnxruntime lowering agree
 * bit for bit, and both agree with the QDQ model run in onnxruntime within one output step.
 */

type Chain = (b: GraphBuilder, x: Value) => Value;

const CHANNELS = 4;

function bn(b: GraphBuilder, x: Value, name: string): Value {
  const param = (label: string, values: number[]) => b.initializer(`${name}_${label}`, new Float32Array(values), [CHANNELS]);
  const inputs = [param('scale', [1.5, -0.7, 0.25, 2]), param('B', [0.3, -1, 0.05, 0.5]), param('mean', [0.1, -0.2, 0, 1]), param('var', [1, 2, 0.5, 4])];
  return b.node('BatchNormalization', [x, ...inputs], { name, attributes: { epsilon: 1e-5 } })[0]!;
}

const op =
  (opType: string, attributes?: Record<string, number | string>): Chain =>
  (b, x) =>
    b.node(opType, [x], { name: opType.toLowerCase(), attributes })[0]!;

const silu: Chain = (b, x) => {
  const [gate] = b.node('Sigmoid', [x], { name: 'silu_sigmoid' });
  return b.node('Mul', [x, gate!], { name: 'silu_mul' })[0]!;
};

const clip =
  (lo: number, hi: number): Chain =>
  (b, x) => {
    const bounds = [b.initializer(`lo${lo}`, new Float32Array([lo]), []), b.initializer(`hi${hi}`, new Float32Array([hi]), [])];
    return b.node('Clip', [x, ...bounds], { name: `clip_${lo}_${hi}` })[0]!;
  };

const then =
  (...chains: Chain[]): Chain =>
  (b, x) =>
    chains.reduce((v, chain) => chain(b, v), x);

/** input [8, 3, 6, 6] → Q/DQ → Conv 3×3 (4 channels, per-channel int8 weights, int32 bias) → chain → Q/DQ → output. */
function convGroup(chain: Chain, outDtype: Act = 'int8', inDtype: Act = 'int8'): Model {
  const b = new GraphBuilder('epilogue');
  const input = b.input('input', DataType.FLOAT, [8, 3, 6, 6]);
  const xScale = inDtype === 'int8' ? 0.03 : 0.0001;
  const x = qdq(b, input, xScale, inDtype, 'x');
  const wScales = [0.01, 0.02, 0.015, 0.03];
  const w = constDq(b, 'w', ints(Int8Array, CHANNELS * 3 * 9, 60), [CHANNELS, 3, 3, 3], wScales, 0);
  const bias = constDq(b, 'b', new Int32Array([500, -800, 0, 1200]), [CHANNELS], wScales.map((s) => accScale(xScale, s)), 0);
  const [conv] = b.node('Conv', [x, w, bias], { name: 'conv', attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
  const y = chain(b, conv!);
  b.output(qdq(b, y, outScale(outDtype), outDtype, 'y'), DataType.FLOAT);
  return b.model({ '': 21 });
}

const outScale = (dtype: Act) => (dtype === 'int8' ? 3 / 127 : 3 / 32767);

/** Deterministic inputs in about [−3, 3]. */
function feeds(shape: number[]): Map<string, NpyArray> {
  const size = shape.reduce((a, b) => a * b, 1);
  let s = 7;
  const data = Float32Array.from({ length: size }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 6 - 3;
  });
  return new Map([['input', { dtype: 'float32', shape, data }]]);
}

async function ort(m: Model, input: Map<string, NpyArray>): Promise<Float32Array> {
  const session = await createSession(m, { threads: 1, graphOptimizationLevel: 'basic' });
  try {
    return [...(await runSession(session, input)).values()][0]!.data as Float32Array;
  } finally {
    await releaseSession(session);
  }
}

/** Lowers, checks the op sequence, and compares interpreter, onnxruntime lowering and QDQ model. */
async function check(qdqModel: Model, ops: string[], step: number, shape = [8, 3, 6, 6]): Promise<Model> {
  const { model: integer, fallback } = lowerQdq(qdqModel);
  expect(fallback).toEqual([]);
  verifyModel(integer);
  expect(opSequence(integer)).toEqual(ops);
  const input = feeds(shape);
  const interpreted = [...interpret(integer, input).values()][0]!.data as Float32Array;
  const lowered = await ort(lowerToStandard(integer), input);
  expect([...lowered]).toEqual([...interpreted]);
  const simulated = await ort(qdqModel, input);
  // In output codes: two float32 dequantized values one code apart differ by the step up to float32 rounding.
  const s = Math.fround(step);
  const off = [...simulated].filter((v, i) => Math.abs(Math.round(v / s) - Math.round(interpreted[i]! / s)) > 1).length;
  expect(off).toBe(0);
  const exact = [...simulated].filter((v, i) => v === interpreted[i]).length;
  expect(exact / simulated.length).toBeGreaterThan(0.98);
  // Not a constant output: the test would prove nothing.
  expect(new Set(interpreted).size).toBeGreaterThan(5);
  return integer;
}

const EPILOGUE = ['quantkit::Quantize', 'quantkit::Conv', 'quantkit::Epilogue', 'quantkit::Dequantize'];

describe('fuse-epilogue', () => {
  const single: [string, Chain][] = [
    ['HardSwish', op('HardSwish')],
    ['HardSigmoid', op('HardSigmoid', { alpha: 0.2, beta: 0.5 })],
    ['Sigmoid', op('Sigmoid')],
    ['Tanh', op('Tanh')],
    ['LeakyRelu', op('LeakyRelu', { alpha: 0.1 })],
    ['Gelu (tanh)', op('Gelu', { approximate: 'tanh' })],
    ['SiLU (Sigmoid + Mul)', silu],
    ['BatchNormalization (scale-shift)', (b, x) => bn(b, x, 'bn')],
    ['HardSwish → BatchNormalization', then(op('HardSwish'), (b, x) => bn(b, x, 'bn'))],
    ['BatchNormalization → Sigmoid → Tanh', then((b, x) => bn(b, x, 'bn'), op('Sigmoid'), op('Tanh'))],
  ];
  for (const [label, chain] of single) {
    it(`1, 2, 5, 6. Conv → ${label} → Q: one Epilogue, bit-exact in onnxruntime, within one step of the QDQ model`, async () => {
      const integer = await check(convGroup(chain), EPILOGUE, outScale('int8'));
      const epilogue = integer.graph.nodes()[2]!;
      expect(epilogue.outputs[0]!.name).toBe('y_quantized');
      expect(stringAttribute(epilogue, 'unit')).toBe('vpu');
      expect(integer.graph.nodes().filter((n) => n.opType === 'Dequantize')).toHaveLength(1);
    });
  }

  it('1, 5. int16 in and out: HardSwish → BatchNormalization', async () => {
    await check(convGroup(then(op('HardSwish'), (b, x) => bn(b, x, 'bn')), 'int16', 'int16'), EPILOGUE, outScale('int16'));
  });

  it('5. a BatchNormalization becomes a ScaleShift step with two float32 [C] inputs; the island parameters go', () => {
    const { model } = lowerQdq(convGroup(then(op('HardSwish'), (b, x) => bn(b, x, 'bn'))));
    const epilogue = model.graph.nodes()[2]!;
    expect(stringAttribute(epilogue, 'steps')).toBe('HardSwish,ScaleShift');
    expect(epilogue.inputs.slice(1).map((v) => v!.constValue!.dims)).toEqual([[CHANNELS], [CHANNELS]]);
    const names = [...model.graph.initializers.keys()];
    for (const gone of ['bn_scale', 'bn_B', 'bn_mean', 'bn_var']) expect(names).not.toContain(gone);
  });

  it('3. a trailing Relu and Clip fold into clip_min / clip_max, quantized at the output scale', async () => {
    const integer = await check(convGroup(then(op('HardSwish'), (b, x) => bn(b, x, 'bn'), op('Relu'), clip(-1, 1.5))), EPILOGUE, outScale('int8'));
    const epilogue = integer.graph.nodes()[2]!;
    expect(stringAttribute(epilogue, 'steps')).toBe('HardSwish,ScaleShift');
    expect(intAttribute(epilogue, 'clip_min')).toBe(0);
    expect(intAttribute(epilogue, 'clip_max')).toBe(Math.round(1.5 / Math.fround(outScale('int8'))));
  });

  it('3. clamps that do not overlap stay steps', () => {
    const { model } = lowerQdq(convGroup(then(op('Tanh'), clip(0.5, 1), clip(-1, 0.2))));
    const epilogue = model.graph.nodes()[2]!;
    expect(stringAttribute(epilogue, 'steps')).toBe('Tanh,Clip');
    expect(intAttribute(epilogue, 'clip_min')).toBe(Math.round(-1 / Math.fround(outScale('int8'))));
  });

  it('4. a chain of only Relu / Clip becomes a Rescale with the clamp (which fold-rescale-into-gemm folds)', async () => {
    const integer = await check(convGroup(then(clip(-2, 2), op('Relu'))), ['quantkit::Quantize', 'quantkit::Conv', 'quantkit::Rescale', 'quantkit::Dequantize'], outScale('int8'));
    const rescale = integer.graph.nodes()[2]!;
    expect(intAttribute(rescale, 'clip_min')).toBe(0);
    expect(intAttribute(rescale, 'clip_max')).toBe(Math.round(2 / Math.fround(outScale('int8'))));
  });

  it('1. Gelu in its erf form ends the chain: it stays a float island', () => {
    const { model } = lowerQdq(convGroup(op('Gelu')));
    expect(opSequence(model)).toContain('quantkit::Gelu');
    expect(opSequence(model)).not.toContain('quantkit::Epilogue');
  });

  it('2. a chain read by Quantize nodes of two scales, or whose accumulator has another reader, is left alone', () => {
    const b = new GraphBuilder('two');
    const input = b.input('input', DataType.FLOAT, [1, 3, 4, 4]);
    const x = qdq(b, input, 0.03, 'int8', 'x');
    const w = constDq(b, 'w', ints(Int8Array, CHANNELS * 3, 60), [CHANNELS, 3, 1, 1], [0.01, 0.02, 0.015, 0.03], 0);
    const [conv] = b.node('Conv', [x, w], { name: 'conv', attributes: { kernel_shape: [1, 1] } });
    const [act] = b.node('HardSwish', [conv!], { name: 'act' });
    b.output(qdq(b, act!, 0.02, 'int8', 'y1'), DataType.FLOAT);
    b.output(qdq(b, act!, 0.04, 'int8', 'y2'), DataType.FLOAT);
    const { model } = lowerQdq(b.model({ '': 21 }));
    expect(opSequence(model)).not.toContain('quantkit::Epilogue');
    expect(nodeNamed(model, 'act').domain).toBe('quantkit');
  });

  it('1. after a MatMul (channels on the last axis) a BatchNormalization ends the chain; the activation before it fuses', () => {
    const b = new GraphBuilder('matmul');
    const input = b.input('input', DataType.FLOAT, [4, 4]);
    const x = qdq(b, input, 0.03, 'int8', 'x');
    const w = constDq(b, 'w', ints(Int8Array, 16, 60), [4, 4], [0.01, 0.02, 0.015, 0.03], 1);
    const [mm] = b.node('MatMul', [x, w], { name: 'mm' });
    const [act] = b.node('Tanh', [mm!], { name: 'act' });
    const y = bn(b, act!, 'bn');
    b.output(qdq(b, y, 0.02, 'int8', 'y'), DataType.FLOAT);
    const { model } = lowerQdq(b.model({ '': 21 }));
    expect(opSequence(model)).not.toContain('quantkit::Epilogue');
    expect(opSequence(model)).toContain('quantkit::BatchNormalization');
  });

  it('5. a Gemm group: channels on axis 1, a per-channel acc_scale, bit-exact and within one step', async () => {
    const b = new GraphBuilder('gemm');
    const input = b.input('input', DataType.FLOAT, [16, 8]);
    const x = qdq(b, input, 0.03, 'int8', 'x');
    const w = constDq(b, 'w', ints(Int8Array, CHANNELS * 8, 90), [CHANNELS, 8], [0.01, 0.02, 0.015, 0.03], 0);
    const [gemm] = b.node('Gemm', [x, w], { name: 'gemm', attributes: { transB: 1 } });
    const y = then(op('LeakyRelu', { alpha: 0.2 }), (bb, v) => bn(bb, v, 'bn'))(b, gemm!);
    b.output(qdq(b, y, outScale('int8'), 'int8', 'y'), DataType.FLOAT);
    await check(b.model({ '': 21 }), ['quantkit::Quantize', 'quantkit::Gemm', 'quantkit::Epilogue', 'quantkit::Dequantize'], outScale('int8'), [16, 8]);
  });
});
