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
import { qdq, type Act } from './__fixtures__/qdq-graphs.js';
import { lowerQdq } from './lower-qdq.js';
import { erf } from './pointwise-lut.js';

/**
 * pointwise-lut through lowerQdq: each standalone activation of a QDQ graph (DQ → f → Q) becomes one quantkit::Lut;
 * the interpreter and the onnxruntime lowering agree bit for bit, and both agree with the QDQ model run in
 * onnxruntime within one output step on every input code (the input sweeps all codes of its type).
 */

type Activation = { op: string; attributes?: Record<string, number | string>; bounds?: [number, number] };

function model(act: Activation | 'silu', inDtype: Act, outDtype: Act): Model {
  const b = new GraphBuilder('lut');
  const codes = inDtype === 'int8' ? 256 : 65536;
  const input = b.input('input', DataType.FLOAT, [1, codes]);
  const inScale = 8 / (inDtype === 'int8' ? 127 : 32767);
  const x = qdq(b, input, inScale, inDtype, 'x');
  let y: Value;
  if (act === 'silu') {
    const [gate] = b.node('Sigmoid', [x], { name: 'silu_sigmoid' });
    y = b.node('Mul', [x, gate!], { name: 'silu_mul' })[0]!;
  } else {
    const extra = act.bounds ? act.bounds.map((v, i) => b.initializer(`bound${i}`, new Float32Array([v]), [])) : [];
    y = b.node(act.op, [x, ...extra], { name: 'act', attributes: act.attributes })[0]!;
  }
  const outScale = 7 / (outDtype === 'int8' ? 127 : 32767);
  b.output(qdq(b, y, outScale, outDtype, 'y'), DataType.FLOAT);
  return b.model({ '': 21 });
}

/** Every input code once: the float input is each code times the input scale. */
function sweep(inDtype: Act): Map<string, NpyArray> {
  const [min, count, scale] = inDtype === 'int8' ? [-128, 256, 8 / 127] : [-32768, 65536, 8 / 32767];
  const data = Float32Array.from({ length: count }, (_, i) => Math.fround((min + i) * Math.fround(scale)));
  return new Map([['input', { dtype: 'float32', shape: [1, count], data }]]);
}

async function ort(m: Model, feeds: Map<string, NpyArray>): Promise<Float32Array> {
  const session = await createSession(m, { threads: 1, graphOptimizationLevel: 'basic' });
  try {
    return [...(await runSession(session, feeds)).values()][0]!.data as Float32Array;
  } finally {
    await releaseSession(session);
  }
}

const ACTIVATIONS: Activation[] = [
  { op: 'Relu' },
  { op: 'Clip', bounds: [0, 6] },
  { op: 'HardSwish' },
  { op: 'HardSigmoid', attributes: { alpha: 1 / 6, beta: 0.5 } },
  { op: 'Sigmoid' },
  { op: 'Tanh' },
  { op: 'LeakyRelu', attributes: { alpha: 0.1 } },
  { op: 'Gelu' },
  { op: 'Gelu', attributes: { approximate: 'tanh' } },
];

describe('pointwise-lut', () => {
  const cases: [Activation | 'silu', Act, Act][] = [
    ...ACTIVATIONS.map((a) => [a, 'int8', 'int8'] as [Activation, Act, Act]),
    ['silu', 'int8', 'int8'],
    [{ op: 'HardSwish' }, 'int16', 'int16'],
    ['silu', 'int16', 'int8'],
    [{ op: 'Gelu' }, 'int16', 'int16'],
  ];
  for (const [act, inDtype, outDtype] of cases) {
    const label = act === 'silu' ? 'SiLU (Sigmoid + Mul)' : `${act.op}${act.attributes?.approximate ? ' (tanh)' : ''}`;
    it(`1-4. ${label}, ${inDtype} → ${outDtype}: one Lut, bit-exact in onnxruntime, within one step of the QDQ model`, async () => {
      const qdqModel = model(act, inDtype, outDtype);
      const { model: integer, fallback } = lowerQdq(qdqModel);
      expect(fallback).toEqual([]);
      verifyModel(integer);
      const ops = integer.graph.nodes().map((n) => `${n.domain}::${n.opType}`);
      expect(ops).toEqual(['quantkit::Quantize', 'quantkit::Lut', 'quantkit::Dequantize']);
      const lut = integer.graph.nodes()[1]!;
      expect(lut.inputs[1]!.constValue!.size).toBe(inDtype === 'int8' ? 256 : 65536);
      expect([...integer.graph.initializers.keys()].filter((name) => name.startsWith('bound'))).toEqual([]);
      const feeds = sweep(inDtype);
      const interpreted = [...interpret(integer, feeds).values()][0]!.data as Float32Array;
      const lowered = await ort(lowerToStandard(integer), feeds);
      expect([...lowered]).toEqual([...interpreted]);
      const simulated = await ort(qdqModel, feeds);
      const step = Math.fround(7 / (outDtype === 'int8' ? 127 : 32767));
      const off = [...simulated].filter((v, i) => Math.abs(v - interpreted[i]!) > step * 1.0001).length;
      expect(off).toBe(0);
      const exact = [...simulated].filter((v, i) => v === interpreted[i]).length;
      expect(exact / simulated.length).toBeGreaterThan(0.99);
    });
  }

  it('2. leaves alone a Clip with a computed bound and an activation read by Quantize nodes of two scales', () => {
    const b = new GraphBuilder('mixed');
    const input = b.input('input', DataType.FLOAT, [1, 8]);
    const x = qdq(b, input, 0.05, 'int8', 'x');
    const [hi] = b.node('ReduceMax', [x], { name: 'hi', attributes: { keepdims: 0 } });
    const [clip] = b.node('Clip', [x, b.initializer('lo', new Float32Array([0]), []), hi!], { name: 'clip' });
    const [tanh] = b.node('Tanh', [x], { name: 'tanh' });
    b.output(qdq(b, clip!, 0.05, 'int8', 'c'), DataType.FLOAT);
    b.output(qdq(b, tanh!, 0.01, 'int8', 't1'), DataType.FLOAT);
    b.output(qdq(b, tanh!, 0.02, 'int8', 't2'), DataType.FLOAT);
    const { model: integer } = lowerQdq(b.model({ '': 21 }));
    const ops = integer.graph.nodes().map((n) => n.opType);
    expect(ops).not.toContain('Lut');
    expect(ops).toContain('Tanh');
    expect(ops).toContain('Clip');
  });

  it('erf agrees with reference values to float64 rounding', () => {
    const known: [number, number][] = [
      [0.1, 0.1124629160182849],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [-1.5, -0.9661051464753108],
      [3, 0.9999779095030014],
    ];
    for (const [x, want] of known) expect(Math.abs(erf(x) - want)).toBeLessThan(1e-15);
  });
});

