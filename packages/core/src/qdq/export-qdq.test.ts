import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { encodeModel } from '../onnx/encode.js';
import { MIN_SCALE, roundHalfEven, scaleFromAmax } from '../quant/numerics.js';
import type { QParams } from '../quant/observer.js';
import { attachPlan, gemmGroup, nodeNamed, qparamsFromAmax, quant } from './__fixtures__/plans.js';
import { exportQdq } from './export-qdq.js';
import { codeOf } from '../testing/error-of.js';

function ops(model: Model): string[] {
  return model.graph.nodes().map((n) => n.opType);
}

function producerOf(model: Model, name: string): Node | undefined {
  return model.graph.valuesByName().get(name)?.producer();
}

function initializer(model: Model, name: string): Tensor {
  const tensor = model.graph.initializers.get(name)?.constValue;
  if (!tensor) throw new Error(`no initializer ${name}`);
  return tensor;
}

/** A deterministic pseudo-random float32 array. */
function data(n: number, seed: number, amplitude = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed * 78.233) * amplitude);
}

/**
 * x[2, 4] → MatMul(w1[4, 3]) → Add(b1[3]) = h → Relu = r → MatMul(w2[3, 2]) → Add(b2) = out (graph output).
 * Groups: linear1 (output h), linear2 (output out).
 */
function twoLinears(options: { outputBias?: boolean } = {}) {
  const b = new GraphBuilder('two_linears');
  const x = b.input('x', DataType.FLOAT, [2, 4]);
  const w1 = b.initializer('w1', data(12, 1), [4, 3]);
  const b1 = b.initializer('b1', data(3, 2, 0.5), [3]);
  const w2 = b.initializer('w2', data(6, 3), [3, 2]);
  const b2 = b.initializer('b2', data(2, 4, 0.5), [2]);
  const [m1] = b.node('MatMul', [x, w1], { name: 'mm1' });
  const [h] = b.node('Add', [m1!, b1], { name: 'add1', outputs: ['h'] });
  const [r] = b.node('Relu', [h!], { name: 'relu', outputs: ['r'] });
  const [m2] = b.node('MatMul', [r!, w2], { name: 'mm2' });
  const [out] = b.node('Add', options.outputBias === false ? [m2!, m2!] : [b2, m2!], {
    name: 'add2',
    outputs: ['out'],
  });
  b.output(out!, DataType.FLOAT, [2, 2]);
  const model = b.model({ '': 17 }, 8);
  const g1 = gemmGroup(nodeNamed(model, 'mm1'));
  const g2 = gemmGroup(nodeNamed(model, 'mm2'));
  return { model, x, h: h!, r: r!, out: out!, w1, b1, w2, b2, g1, g2 };
}

const AMAX: Record<string, number> = { x: 1, h: 2, r: 1.5, out: 3, y: 2.5 };
const int8Params = (value: Value): QParams | undefined =>
  AMAX[value.name] === undefined ? undefined : qparamsFromAmax(AMAX[value.name]!, 'qint8');

describe('exportQdq: activations', () => {
  it('puts one QuantizeLinear → DequantizeLinear pair after each quantized activation, read by all its consumers', () => {
    const t = twoLinears();
    attachPlan(t.model, {
      groups: [t.g1, t.g2],
      activations: [quant(t.x, 'qint8'), quant(t.h, 'qint8'), quant(t.r, 'qint16')],
      highPrecision: [t.out],
    });
    const { model } = exportQdq(t.model, (v) => (v.name === 'r' ? qparamsFromAmax(1.5, 'qint16') : int8Params(v)));
    // Graph input first, then each pair right after its producer.
    expect(ops(model).slice(0, 2)).toEqual(['QuantizeLinear', 'DequantizeLinear']);
    const relu = nodeNamed(model, 'relu');
    const afterRelu = model.graph.nodes()[model.graph.indexOf(relu) + 1]!;
    expect(afterRelu.opType).toBe('QuantizeLinear');
    expect(afterRelu.inputs[0]!.name).toBe('r');
    expect(ops(model).filter((op) => op === 'QuantizeLinear')).toHaveLength(3);
    // Every consumer reads the dequantized copy.
    expect(nodeNamed(model, 'mm1').inputs[0]!.producer()!.opType).toBe('DequantizeLinear');
    expect(relu.inputs[0]!.producer()!.opType).toBe('DequantizeLinear');
    expect(nodeNamed(model, 'mm2').inputs[0]!.producer()!.opType).toBe('DequantizeLinear');
    // Scales per tensor; zero point 0 of the plan's type, shared by Q and DQ.
    const q = afterRelu;
    expect(initializer(model, q.inputs[1]!.name).dims).toEqual([]);
    expect(initializer(model, q.inputs[1]!.name).toArray()[0]).toBe(scaleFromAmax(1.5, 'qint16'));
    const zeroPoint = initializer(model, q.inputs[2]!.name);
    expect(zeroPoint.dtype).toBe(DataType.INT16);
    expect(Array.from(zeroPoint.toArray() as Int16Array)).toEqual([0]);
    const dq = q.outputs[0]!.uses()[0]!.node;
    expect(dq.inputs.slice(1)).toEqual(q.inputs.slice(1));
    expect(initializer(model, model.graph.nodes()[0]!.inputs[2]!.name).dtype).toBe(DataType.INT8);
    // The high-precision output gets nothing.
    expect(model.graph.outputs[0]!.producer()!.name).toBe('add2');
  });

  it('keeps the name of a quantized graph output on the DequantizeLinear output and renames the float tensor', () => {
    const t = twoLinears();
    attachPlan(t.model, { groups: [t.g1, t.g2], activations: [quant(t.out, 'qint8')] });
    const { model, twins } = exportQdq(t.model, int8Params);
    const output = model.graph.outputs[0]!;
    expect(output.name).toBe('out');
    expect(output.producer()!.opType).toBe('DequantizeLinear');
    expect(output.type).toEqual(tensorType(DataType.FLOAT, [2, 2]));
    const floatOut = output.producer()!.inputs[0]!.producer()!.inputs[0]!;
    expect(floatOut.name).toBe('out_float');
    expect(floatOut.producer()!.name).toBe('add2');
    expect(twins).toEqual([{ float: 'out', quantized: 'out' }]);
  });

  it('quantizes only the listed uses of a reused output; the graph output stays float', () => {
    const b = new GraphBuilder('reuse');
    const x = b.input('x', DataType.FLOAT, [2, 4]);
    const w1 = b.initializer('w1', data(8, 5), [4, 2]);
    const w2 = b.initializer('w2', data(4, 6), [2, 2]);
    const [y] = b.node('MatMul', [x, w1], { name: 'mm1', outputs: ['y'] });
    const [z] = b.node('MatMul', [y!, w2], { name: 'mm2', outputs: ['z'] });
    const [t] = b.node('Tanh', [y!], { name: 'tanh', outputs: ['t'] });
    b.output(y!);
    b.output(z!);
    b.output(t!);
    const model = b.model();
    const mm2 = nodeNamed(model, 'mm2');
    attachPlan(model, {
      groups: [gemmGroup(nodeNamed(model, 'mm1')), gemmGroup(mm2)],
      activations: [quant(y!, 'qint8', { uses: [{ node: mm2, index: 0 }] })],
      highPrecision: [y!, z!],
    });
    const { model: qat, twins } = exportQdq(model, int8Params);
    const outY = qat.graph.outputs[0]!;
    expect(outY.name).toBe('y');
    expect(outY.producer()!.opType).toBe('MatMul');
    expect(nodeNamed(qat, 'mm2').inputs[0]!.producer()!.opType).toBe('DequantizeLinear');
    expect(nodeNamed(qat, 'tanh').inputs[0]).toBe(outY);
    expect(twins).toEqual([{ float: 'y', quantized: nodeNamed(qat, 'mm2').inputs[0]!.name }]);
  });

  it('takes a shared scale from the value it shares with, recursively', () => {
    const b = new GraphBuilder('share');
    const x = b.input('x', DataType.FLOAT, [2, 4]);
    const [r1] = b.node('Reshape', [x, b.initializer('shape', new BigInt64Array([4n, 2n]), [2])], {
      name: 'reshape',
      outputs: ['r1'],
    });
    const [t1] = b.node('Transpose', [r1!], { name: 'transpose', outputs: ['t1'] });
    b.output(t1!);
    const model = b.model();
    attachPlan(model, {
      activations: [quant(x, 'qint8'), quant(r1!, 'qint8', { shareWith: x }), quant(t1!, 'qint8', { shareWith: r1! })],
    });
    const asked: string[] = [];
    const { model: qat } = exportQdq(model, (v) => {
      asked.push(v.name);
      return qparamsFromAmax(1, 'qint8');
    });
    expect(asked).toEqual(['x', 'x', 'x']);
    const scales = qat.graph
      .nodes()
      .filter((n) => n.opType === 'QuantizeLinear')
      .map((n) => initializer(qat, n.inputs[1]!.name).toArray()[0]);
    expect(scales).toEqual([scaleFromAmax(1, 'qint8'), scaleFromAmax(1, 'qint8'), scaleFromAmax(1, 'qint8')]);
  });

  it('skips float and high-precision values, and values nothing reads', () => {
    const t = twoLinears();
    attachPlan(t.model, {
      groups: [t.g1, t.g2],
      activations: [quant(t.x, 'qint8'), quant(t.h, 'qint8'), quant(t.out, 'qint8')],
      highPrecision: [t.out],
      float: [t.h],
    });
    const { model, twins } = exportQdq(t.model, int8Params);
    expect(twins.map((tw) => tw.float)).toEqual(['x']);
    expect(ops(model).filter((op) => op === 'QuantizeLinear')).toHaveLength(1);
  });

  it('quantizes the GEMM uses of a float-override value, leaving its other readers float', () => {
    const t = twoLinears();
    const mm2 = nodeNamed(t.model, 'mm2');
    // r is kept float by an override, yet linear2 (a GEMM) reads a quantized copy.
    attachPlan(t.model, {
      groups: [t.g1, t.g2],
      activations: [quant(t.x, 'qint8'), quant(t.r, 'qint8', { uses: [{ node: mm2, index: 0 }] })],
      float: [t.r],
    });
    const { model, twins } = exportQdq(t.model, int8Params);
    expect(twins.map((tw) => tw.float)).toEqual(['x', 'r']);
    expect(nodeNamed(model, 'mm2').inputs[0]!.producer()!.opType).toBe('DequantizeLinear');
    // linear2's bias follows its quantized input.
    expect(nodeNamed(model, 'add2').inputs[0]!.producer()!.opType).toBe('DequantizeLinear');
  });

  it('refuses a quantized value without calibration statistics with QK_CALIB_DATA', () => {
    const t = twoLinears();
    attachPlan(t.model, { groups: [t.g1], activations: [quant(t.x, 'qint8')] });
    expect(codeOf(() => exportQdq(t.model, () => undefined))).toBe('QK_CALIB_DATA');
  });

  it('never modifies the input model', () => {
    const t = twoLinears();
    attachPlan(t.model, {
      groups: [t.g1, t.g2],
      activations: [quant(t.x, 'qint8'), quant(t.h, 'qint8'), quant(t.out, 'qint8')],
    });
    const before = encodeModel(t.model);
    exportQdq(t.model, int8Params);
    expect(Buffer.from(encodeModel(t.model)).equals(Buffer.from(before))).toBe(true);
  });
});

describe('exportQdq: weights and biases', () => {
  it('stores weights as int8 per channel along weightAxis: scale amax_c / 127.5, data round-half-even(w / s)', () => {
    const t = twoLinears();
    attachPlan(t.model, { groups: [t.g1, t.g2], activations: [quant(t.x, 'qint8')] });
    const { model } = exportQdq(t.model, int8Params);
    const mm1 = nodeNamed(model, 'mm1');
    const dq = mm1.inputs[1]!.producer()!;
    expect(dq.opType).toBe('DequantizeLinear');
    expect(dq.attribute('axis')!.asNumber()).toBe(1);
    const w = t.w1.constValue!.toFloat32();
    const q = initializer(model, dq.inputs[0]!.name);
    const s = initializer(model, dq.inputs[1]!.name);
    const zp = initializer(model, dq.inputs[2]!.name);
    expect(q.dtype).toBe(DataType.INT8);
    expect(q.dims).toEqual([4, 3]);
    expect(s.dims).toEqual([3]);
    expect(zp.dtype).toBe(DataType.INT8);
    expect(Array.from(zp.toArray() as Int8Array)).toEqual([0, 0, 0]);
    const scales = s.toArray() as Float32Array;
    for (let c = 0; c < 3; c++) {
      const amax = Math.max(...[0, 1, 2, 3].map((k) => Math.abs(w[k * 3 + c]!)));
      expect(scales[c]).toBe(Math.fround(Math.fround(amax) / 127.5));
    }
    const ints = q.toArray() as Int8Array;
    w.forEach((v, i) => {
      const expected = Math.max(-128, Math.min(127, roundHalfEven(Math.fround(v / scales[i % 3]!))));
      expect(ints[i]).toBe(expected);
    });
    // The float weight is gone.
    expect(model.graph.initializers.has('w1')).toBe(false);
  });

  it('stores qint16 weights (the plan\'s `weights`) as int16 per channel: scale amax_c / 32767.5; opset 21; the bias of int16 × int16 at s_in · s_w[c] · 2^8', () => {
    const t = twoLinears();
    const plan = attachPlan(t.model, { groups: [t.g1, t.g2], activations: [quant(t.x, 'qint16'), quant(t.h, 'qint8')] });
    plan.weights = new Map([[t.g1, 'qint16']]);
    const params = (value: Value) => (value.name === 'x' ? qparamsFromAmax(1, 'qint16') : int8Params(value));
    const { model } = exportQdq(t.model, params);
    expect(model.opset).toBe(21);
    const dq = nodeNamed(model, 'mm1').inputs[1]!.producer()!;
    const q = initializer(model, dq.inputs[0]!.name);
    expect(q.dtype).toBe(DataType.INT16);
    expect(initializer(model, dq.inputs[2]!.name).dtype).toBe(DataType.INT16);
    const w = t.w1.constValue!.toFloat32();
    const scales = initializer(model, dq.inputs[1]!.name).toArray() as Float32Array;
    for (let c = 0; c < 3; c++) {
      const amax = Math.max(...[0, 1, 2, 3].map((k) => Math.abs(w[k * 3 + c]!)));
      expect(scales[c]).toBe(Math.fround(Math.fround(amax) / 32767.5));
    }
    const ints = q.toArray() as Int16Array;
    w.forEach((v, i) => expect(ints[i]).toBe(Math.max(-32768, Math.min(32767, roundHalfEven(Math.fround(v / scales[i % 3]!))))));
    // The channel maxima reach the ends of the int16 range.
    expect(Math.max(...Array.from(ints, Math.abs))).toBeGreaterThanOrEqual(32767);
    // The bias of the int16 × int16 group sits on the shifted accumulator grid; linear2 (int8 × int8) is as before.
    const biasScales = initializer(model, nodeNamed(model, 'add1').inputs[1]!.producer()!.inputs[1]!.name).toArray() as Float32Array;
    const sIn = scaleFromAmax(1, 'qint16');
    for (let c = 0; c < 3; c++) expect(biasScales[c]).toBe(Math.fround(sIn * 256 * scales[c]!));
    expect(initializer(model, nodeNamed(model, 'mm2').inputs[1]!.producer()!.inputs[0]!.name).dtype).toBe(DataType.INT8);
    // weightsOnly keeps the plan's weight types, and so opset 21.
    const floor = exportQdq(t.model, params, { weightsOnly: true }).model;
    expect(floor.opset).toBe(21);
    expect(initializer(floor, nodeNamed(floor, 'mm1').inputs[1]!.producer()!.inputs[0]!.name).dtype).toBe(DataType.INT16);
  });

  it('gives an all-zero weight channel a non-zero scale', () => {
    const b = new GraphBuilder('zero');
    const x = b.input('x', DataType.FLOAT, [1, 2]);
    const w = b.initializer('w', new Float32Array([0, 1, 0, -2]), [2, 2]);
    const [y] = b.node('MatMul', [x, w], { name: 'mm', outputs: ['y'] });
    b.output(y!);
    const model = b.model();
    attachPlan(model, { groups: [gemmGroup(nodeNamed(model, 'mm'))] });
    const { model: qat } = exportQdq(model, () => undefined);
    const dq = nodeNamed(qat, 'mm').inputs[1]!.producer()!;
    const scales = initializer(qat, dq.inputs[1]!.name).toArray() as Float32Array;
    expect(scales[0]).toBe(MIN_SCALE);
    expect(scales[1]).toBe(Math.fround(2 / 127.5));
    // -2 / s is -127.5 only in real numbers; the float32 quotient decides, as in onnxruntime.
    const minus2 = roundHalfEven(Math.fround(-2 / scales[1]!));
    expect(Array.from(initializer(qat, dq.inputs[0]!.name).toArray() as Int8Array)).toEqual([0, 64, 0, minus2]);
  });

  it('stores the bias as int32 at s_in · s_w[c], saturated, through a DequantizeLinear on axis 0', () => {
    const t = twoLinears();
    // A huge bias entry saturates at int32 max.
    const bias = new Float32Array([0.3, -0.2, 1e9]);
    t.b1.constValue = Tensor.fromArray(bias, [3]);
    attachPlan(t.model, { groups: [t.g1, t.g2], activations: [quant(t.x, 'qint8'), quant(t.h, 'qint8')] });
    const { model } = exportQdq(t.model, int8Params);
    const add1 = nodeNamed(model, 'add1');
    const dq = add1.inputs[1]!.producer()!;
    expect(dq.opType).toBe('DequantizeLinear');
    expect(dq.attribute('axis')!.asNumber()).toBe(0);
    const sIn = scaleFromAmax(1, 'qint8');
    const sW = initializer(
      model,
      nodeNamed(model, 'mm1').inputs[1]!.producer()!.inputs[1]!.name,
    ).toArray() as Float32Array;
    const sB = initializer(model, dq.inputs[1]!.name).toArray() as Float32Array;
    const q = initializer(model, dq.inputs[0]!.name);
    expect(q.dtype).toBe(DataType.INT32);
    expect(initializer(model, dq.inputs[2]!.name).dtype).toBe(DataType.INT32);
    for (let c = 0; c < 3; c++) expect(sB[c]).toBe(Math.fround(sIn * sW[c]!));
    const ints = q.toArray() as Int32Array;
    expect(ints[0]).toBe(roundHalfEven(0.3 / sB[0]!));
    expect(ints[1]).toBe(roundHalfEven(Math.fround(-0.2) / sB[1]!));
    expect(ints[2]).toBe(2147483647);
  });

  it('keeps the bias float when the group reads a float input', () => {
    const t = twoLinears();
    attachPlan(t.model, { groups: [t.g1, t.g2], activations: [quant(t.x, 'qint8')] });
    const { model } = exportQdq(t.model, int8Params);
    expect(nodeNamed(model, 'add1').inputs[1]!.producer()!.opType).toBe('DequantizeLinear');
    // linear2 reads r, which the plan leaves float.
    expect(nodeNamed(model, 'add2').inputs[0]!.name).toBe('b2');
    expect(nodeNamed(model, 'add2').inputs[0]!.constValue).toBeDefined();
  });

  it('quantizes Conv weights along axis 0 and the Conv bias along axis 0', () => {
    const b = new GraphBuilder('conv');
    const x = b.input('x', DataType.FLOAT, [1, 2, 3, 3]);
    const w = b.initializer('w', data(3 * 2 * 2 * 2, 7), [3, 2, 2, 2]);
    const bias = b.initializer('bias', data(3, 8), [3]);
    const [y] = b.node('Conv', [x, w, bias], { name: 'conv', outputs: ['y'] });
    b.output(y!);
    const model = b.model();
    attachPlan(model, { groups: [gemmGroup(nodeNamed(model, 'conv'))], activations: [quant(x, 'qint8')] });
    const { model: qat } = exportQdq(model, int8Params);
    const conv = nodeNamed(qat, 'conv');
    const wdq = conv.inputs[1]!.producer()!;
    const bdq = conv.inputs[2]!.producer()!;
    expect(wdq.attribute('axis')!.asNumber()).toBe(0);
    expect(initializer(qat, wdq.inputs[1]!.name).dims).toEqual([3]);
    expect(bdq.attribute('axis')!.asNumber()).toBe(0);
    expect(initializer(qat, bdq.inputs[0]!.name).dtype).toBe(DataType.INT32);
  });

  it('quantizes the initializer behind an Identity and drops the Identity', () => {
    const b = new GraphBuilder('identity');
    const x = b.input('x', DataType.FLOAT, [1, 2]);
    const w = b.initializer('w', new Float32Array([1, 2, 3, 4]), [2, 2]);
    const [wi] = b.node('Identity', [w], { name: 'id', outputs: ['w_copy'] });
    const [y] = b.node('MatMul', [x, wi!], { name: 'mm', outputs: ['y'] });
    b.output(y!);
    const model = b.model();
    attachPlan(model, { groups: [gemmGroup(nodeNamed(model, 'mm'))] });
    const { model: qat } = exportQdq(model, () => undefined);
    expect(ops(qat)).toEqual(['DequantizeLinear', 'MatMul']);
    expect(initializer(qat, 'w_quantized').dtype).toBe(DataType.INT8);
    expect(qat.graph.initializers.has('w')).toBe(false);
  });

  it('weightsOnly: int8 weights, every activation and bias float', () => {
    const t = twoLinears();
    attachPlan(t.model, {
      groups: [t.g1, t.g2],
      activations: [quant(t.x, 'qint8'), quant(t.h, 'qint8'), quant(t.r, 'qint8'), quant(t.out, 'qint8')],
    });
    const { model, twins } = exportQdq(t.model, int8Params, { weightsOnly: true });
    expect(ops(model)).not.toContain('QuantizeLinear');
    expect(twins).toEqual([]);
    const dqs = model.graph.nodes().filter((n) => n.opType === 'DequantizeLinear');
    expect(dqs.map((n) => initializer(model, n.inputs[0]!.name).dtype)).toEqual([DataType.INT8, DataType.INT8]);
    expect(nodeNamed(model, 'add1').inputs[1]!.name).toBe('b1');
    expect(model.graph.outputs[0]!.producer()!.name).toBe('add2');
  });
});

describe('exportQdq: the model', () => {
  function reduceModel(opset: number, dtype: 'qint8' | 'qint16'): Model {
    const b = new GraphBuilder('reduce');
    const x = b.input('x', DataType.FLOAT, [2, 4]);
    const [m] = b.node('ReduceMean', [x], { name: 'mean', attributes: { axes: [1], keepdims: 1 }, outputs: ['m'] });
    b.output(m!);
    const model = b.model({ '': opset }, 7);
    attachPlan(model, { activations: [quant(x, dtype), quant(m!, dtype)] });
    return model;
  }

  it('case 1: int16 anywhere → opset 21, IR ≥ 10, with the old ops upgraded (ReduceMean axes → input)', () => {
    const model = reduceModel(13, 'qint16');
    const { model: qat } = exportQdq(model, () => qparamsFromAmax(1, 'qint16'));
    expect(qat.opset).toBe(21);
    expect(qat.irVersion).toBe(10);
    const mean = nodeNamed(qat, 'mean');
    expect(mean.attribute('axes')).toBeUndefined();
    expect(Array.from(mean.inputs[1]!.constValue!.toArray() as BigInt64Array)).toEqual([1n]);
    expect(model.opset).toBe(13);
  });

  it("case 1: int8 only → the model's own opset when it is 13 or more (ReduceMean keeps its axes attribute)", () => {
    const { model: qat } = exportQdq(reduceModel(17, 'qint8'), () => qparamsFromAmax(1, 'qint8'));
    expect(qat.opset).toBe(17);
    expect(qat.irVersion).toBe(8);
    expect(Array.from(nodeNamed(qat, 'mean').attribute('axes')!.value as number[])).toEqual([1]);
  });

  it('case 1: int8 only below opset 13 → upgraded to 13', () => {
    const { model: qat } = exportQdq(reduceModel(11, 'qint8'), () => qparamsFromAmax(1, 'qint8'));
    expect(qat.opset).toBe(13);
    expect(qat.irVersion).toBe(7);
  });

  it('case 1: weights only → at least 13, whatever the plan says about activations', () => {
    const { model: qat } = exportQdq(reduceModel(11, 'qint16'), () => qparamsFromAmax(1, 'qint16'), {
      weightsOnly: true,
    });
    expect(qat.opset).toBe(13);
  });

  it('drops value_info declarations of renamed and removed values, keeps the others', () => {
    const t = twoLinears();
    t.h.type = tensorType(DataType.FLOAT, [2, 3]);
    t.r.type = tensorType(DataType.FLOAT, [2, 3]);
    t.model.graph.valueInfos.push(t.h, t.r, t.w1);
    attachPlan(t.model, { groups: [t.g1, t.g2], activations: [quant(t.h, 'qint8'), quant(t.out, 'qint8')] });
    const { model } = exportQdq(t.model, int8Params);
    expect(model.graph.valueInfos.map((v) => v.name)).toEqual(['h', 'r']);
  });

  it('refuses a plan that does not belong to the model', () => {
    const t = twoLinears();
    const other = twoLinears();
    attachPlan(t.model, { activations: [quant(other.h, 'qint8')] });
    expect(codeOf(() => exportQdq(t.model, int8Params))).toBe('QK_IR_MISUSE');
  });
});
