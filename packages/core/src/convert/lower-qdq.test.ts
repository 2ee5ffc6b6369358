import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { verifyModel } from '../ir/verify.js';
import { encodeModel } from '../onnx/encode.js';
import { accScale, constDq, graphText, ints, linear, nodeNamed, opSequence, qdq, seedQdq } from './__fixtures__/qdq-graphs.js';
import { floatsAttribute, intAttribute, intsAttribute, stringAttribute } from './integer-nodes.js';
import { lowerQdq } from './lower-qdq.js';

const unit = (model: ReturnType<typeof lowerQdq>['model'], name: string) => stringAttribute(nodeNamed(model, name), 'unit');

/** x → Conv(3×3, per-channel int8 weights, int32 bias) → [epilogue] → Q/DQ → output. */
function convModel(epilogue: 'none' | 'relu' | 'clip' | 'clip-output') {
  const b = new GraphBuilder('conv');
  const input = b.input('input', DataType.FLOAT, [1, 2, 4, 4]);
  const x = qdq(b, input, 0.02);
  const wScales = [0.01, 0.02, 0.03];
  const w = constDq(b, 'w', ints(Int8Array, 3 * 2 * 9, 127), [3, 2, 3, 3], wScales, 0);
  const bias = constDq(b, 'b', new Int32Array([100, -200, 300]), [3], wScales.map((s) => accScale(0.02, s)), 0);
  const [conv] = b.node('Conv', [x, w, bias], { name: 'conv', attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
  let out = conv!;
  if (epilogue === 'relu') out = b.node('Relu', [out], { name: 'relu' })[0]!;
  if (epilogue.startsWith('clip')) {
    const lo = b.initializer('lo', new Float32Array([0]), []);
    const hi = b.initializer('hi', new Float32Array([6]), []);
    out = b.node('Clip', [out, lo, hi], { name: 'clip' })[0]!;
  }
  if (epilogue === 'clip-output') {
    b.output(out, DataType.FLOAT);
  } else {
    const dq = qdq(b, out, 0.05, 'int8', 'y');
    const [id] = b.node('Sigmoid', [dq], { name: 'sigmoid', outputs: ['output'] });
    b.output(id!, DataType.FLOAT);
  }
  return b.model();
}

describe('lowerQdq', () => {
  it('1. MatMul + Add(bias) → quantkit::MatMul (int32) + Dequantize at float32(s_x · s_w[c]); the graph output keeps its name', () => {
    const qdqModel = seedQdq('single');
    const { model, fallback } = lowerQdq(qdqModel);
    expect(fallback).toEqual([]);
    const mm = nodeNamed(model, '/linear3/MatMul');
    expect(mm.domain).toBe('quantkit');
    expect(stringAttribute(mm, 'out_dtype')).toBe('int32');
    expect(mm.inputs.map((v) => v?.name)).toEqual(['y_quantized', 'linear3.w_quantized', 'linear3.b_quantized']);
    const xScale = floatsAttribute(mm, 'x_scale')![0]!;
    const wScale = floatsAttribute(mm, 'w_scale')!;
    expect(xScale).toBe(Math.fround(0.0002));
    expect(wScale).toHaveLength(6);
    const dequantize = mm.outputs[0]!.uses()[0]!.node;
    expect(dequantize.opType).toBe('Dequantize');
    expect(floatsAttribute(dequantize, 'scale')).toEqual(wScale.map((w) => Math.fround(xScale * w)));
    expect(intAttribute(dequantize, 'axis')).toBe(-1);
    expect(stringAttribute(dequantize, 'unit')).toBe('cpu');
    expect(model.graph.outputs.map((v) => v.name)).toEqual(['/linear3/Add_output_0']);
    expect(dequantize.outputs[0]).toBe(model.graph.outputs[0]);
    expect(opSequence(model)).toEqual([
      'quantkit::Quantize',
      'quantkit::MatMul',
      'quantkit::Dequantize',
      'quantkit::Quantize',
      'quantkit::MatMul',
      'quantkit::Dequantize',
    ]);
    expect(model.opsetImports.get('quantkit')).toBe(1);
    verifyModel(model);
  });

  it('1. the bias may be the second operand of the Add', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [3, 4]), 0.01);
    const { out } = linear(b, x, { name: 'l', k: 4, n: 2, xScale: 0.01, biasFirst: false });
    b.output(out, DataType.FLOAT);
    const { model } = lowerQdq(b.model());
    expect(nodeNamed(model, '/l/MatMul').inputs[2]?.name).toBe('l.b_quantized');
  });

  it('1. the input model is not modified', () => {
    const qdqModel = seedQdq('reuse');
    const before = graphText(qdqModel);
    const bytes = encodeModel(qdqModel);
    lowerQdq(qdqModel);
    expect(graphText(qdqModel)).toEqual(before);
    expect(encodeModel(qdqModel)).toEqual(bytes);
  });

  it('1. an int32 bias at another scale, or a float bias, is requantized to s_x · s_w[c]', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [3, 4]), 0.01);
    const { out } = linear(b, x, { name: 'l', k: 4, n: 2, xScale: 0.01, wScales: [0.1, 0.2], biasScales: [0.002, 0.004] });
    const w2 = constDq(b, 'w2', ints(Int8Array, 4, 100), [2, 2], [0.5, 0.25], 1);
    const dq = qdq(b, out, 0.05, 'int8', 'h');
    const [mm] = b.node('MatMul', [dq, w2], { name: 'mm2' });
    const [sum] = b.node('Add', [mm!, b.initializer('fb', new Float32Array([0.3, -0.7]), [2])], { name: 'add2' });
    b.output(sum!, DataType.FLOAT);
    const { model } = lowerQdq(b.model());
    const original = ints(Int32Array, 2, 5000, 7);
    const bias1 = nodeNamed(model, '/l/MatMul').inputs[2]!.constValue!.toArray() as Int32Array;
    // q · 0.002 / (0.01 · 0.1) = 2q, q · 0.004 / (0.01 · 0.2) = 2q
    expect(Array.from(bias1)).toEqual([2 * original[0]!, 2 * original[1]!]);
    const bias2 = nodeNamed(model, 'mm2').inputs[2]!.constValue!.toArray() as Int32Array;
    expect(Array.from(bias2)).toEqual([Math.round(0.3 / (0.05 * 0.5)), Math.round(-0.7 / (0.05 * 0.25))]);
  });

  it('1. Conv keeps its attributes; a Relu that is the only reader fuses (relu = 1)', () => {
    const { model } = lowerQdq(convModel('relu'));
    const conv = nodeNamed(model, 'conv');
    expect(conv.domain).toBe('quantkit');
    expect(intAttribute(conv, 'relu')).toBe(1);
    expect(intsAttribute(conv, 'kernel_shape')).toEqual([3, 3]);
    expect(intsAttribute(conv, 'pads')).toEqual([1, 1, 1, 1]);
    expect(opSequence(model)).not.toContain('Relu');
    const dequantize = conv.outputs[0]!.uses()[0]!.node;
    expect(intAttribute(dequantize, 'axis')).toBe(1);
    expect(dequantize.outputs[0]!.uses()[0]!.node.opType).toBe('Quantize');
  });

  it('1. a Conv bias Add fuses only when it broadcasts along the channels ([C, 1, 1]), not a [C] along the width', () => {
    const convThenAdd = (biasDims: number[]) => {
      const b = new GraphBuilder('conv-add');
      // W = C = 3, so a [3] bias broadcasts (along the width) as well as a [3, 1, 1] one (along the channels).
      const x = qdq(b, b.input('input', DataType.FLOAT, [1, 2, 3, 3]), 0.02);
      const w = constDq(b, 'w', ints(Int8Array, 3 * 2, 127), [3, 2, 1, 1], [0.01, 0.02, 0.03], 0);
      const [conv] = b.node('Conv', [x, w], { name: 'conv', attributes: { kernel_shape: [1, 1] } });
      const bias = b.initializer('bias', new Float32Array([0.5, -0.25, 1]), biasDims);
      const [add] = b.node('Add', [conv!, bias], { name: 'add' });
      b.output(qdq(b, add!, 0.05, 'int8', 'y'), DataType.FLOAT);
      return lowerQdq(b.model()).model;
    };
    const channelBias = convThenAdd([3, 1, 1]);
    expect(nodeNamed(channelBias, 'conv').inputs).toHaveLength(3);
    expect(opSequence(channelBias)).not.toContain('quantkit::Add');
    const widthBias = convThenAdd([3]);
    expect(nodeNamed(widthBias, 'conv').inputs).toHaveLength(2);
    expect(opSequence(widthBias)).toContain('quantkit::Add');
  });

  it('2. Conv → Clip → Q becomes Conv (int32) → Rescale with clip bounds quantized at the output scale', () => {
    const { model } = lowerQdq(convModel('clip'));
    const conv = nodeNamed(model, 'conv');
    const rescale = conv.outputs[0]!.uses()[0]!.node;
    expect(rescale.opType).toBe('Rescale');
    expect(intAttribute(rescale, 'clip_min')).toBe(0);
    expect(intAttribute(rescale, 'clip_max')).toBe(120);
    expect(stringAttribute(rescale, 'out_dtype')).toBe('int8');
    expect(intAttribute(rescale, 'axis')).toBe(1);
    expect(rescale.outputs[0]!.name).toBe('y_quantized');
    expect(opSequence(model)).not.toContain('Clip');
    expect(model.graph.initializers.has('lo')).toBe(false);
  });

  it('2. a Clip that ends the model stays a VPU island after the Dequantize', () => {
    const { model } = lowerQdq(convModel('clip-output'));
    const clip = nodeNamed(model, 'clip');
    expect(clip.domain).toBe('quantkit');
    expect(stringAttribute(clip, 'unit')).toBe('vpu');
    expect(clip.inputs[0]!.producer()!.opType).toBe('Dequantize');
  });

  it('3. Q / DQ become Quantize / Dequantize; a DQ nothing reads any more goes, with its scale and zero point', () => {
    const { model } = lowerQdq(convModel('none'));
    const quantize = nodeNamed(model, 'input_QuantizeLinear');
    expect(quantize.domain).toBe('quantkit');
    expect(quantize.inputs).toHaveLength(1);
    expect(floatsAttribute(quantize, 'scale')).toEqual([Math.fround(0.02)]);
    expect(stringAttribute(quantize, 'dtype')).toBe('int8');
    expect(model.graph.nodes().some((n) => n.name === 'input_DequantizeLinear')).toBe(false);
    expect(model.graph.nodes().some((n) => n.name === 'w_DequantizeLinear')).toBe(false);
    expect([...model.graph.initializers.keys()].sort()).toEqual(['b_quantized', 'w_quantized']);
  });

  it('4. elementwise ops become VPU islands with their attributes; shape arithmetic is left alone', () => {
    const b = new GraphBuilder();
    const input = b.input('input', DataType.FLOAT, [2, 8]);
    const x = qdq(b, input, 0.01);
    const [soft] = b.node('Softmax', [x], { name: 'softmax', attributes: { axis: -1 } });
    const [shape] = b.node('Shape', [x], { name: 'shape' });
    const [plus] = b.node('Add', [shape!, b.initializer('one', new BigInt64Array([1n]), [1])], { name: 'shape_add' });
    b.output(qdq(b, soft!, 1 / 255, 'int8', 's'), DataType.FLOAT);
    b.output(plus!, DataType.INT64);
    const { model, fallback } = lowerQdq(b.model());
    expect(fallback).toEqual([]);
    const softmax = nodeNamed(model, 'softmax');
    expect([softmax.domain, intAttribute(softmax, 'axis'), stringAttribute(softmax, 'unit')]).toEqual(['quantkit', -1, 'vpu']);
    expect(nodeNamed(model, 'shape_add').domain).toBe('');
    // 5. Shape reads the integer tensor.
    expect(nodeNamed(model, 'shape').inputs[0]!.name).toBe('input_quantized');
    expect(unit(model, 'input_DequantizeLinear')).toBe('vpu');
    expect(unit(model, 's_QuantizeLinear')).toBe('vpu');
    expect(unit(model, 's_DequantizeLinear')).toBe('cpu');
  });

  it('6. shape plumbing (Cast of a Constant, Cast of a Shape, float arithmetic on it) is no fallback and no island', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [1, 2, 4, 4]), 0.01);
    const [six] = b.node('Constant', [], { name: 'six_const', attributes: { value: Tensor.fromArray(new Float64Array([6]), []) } });
    const [hi] = b.node('Cast', [six!], { name: 'hi_cast', attributes: { to: DataType.FLOAT } });
    const [clip] = b.node('Clip', [x, b.initializer('lo', new Float32Array([0]), []), hi!], { name: 'clip' });
    const [shape] = b.node('Shape', [x], { name: 'shape' });
    const [shapeF] = b.node('Cast', [shape!], { name: 'shape_cast', attributes: { to: DataType.FLOAT } });
    const [twice] = b.node('Mul', [shapeF!, b.initializer('two', new Float32Array([2]), [])], { name: 'shape_mul' });
    const [sizes] = b.node('Cast', [twice!], { name: 'sizes_cast', attributes: { to: DataType.INT64 } });
    const [up] = b.node('Resize', [qdq(b, clip!, 0.05, 'int8', 'c'), b.initializer('roi', new Float32Array(0), [0]), b.initializer('scales', new Float32Array(0), [0]), sizes!], {
      name: 'resize',
      attributes: { mode: 'nearest' },
    });
    b.output(qdq(b, up!, 0.05, 'int8', 'r'), DataType.FLOAT);
    const { model, fallback } = lowerQdq(b.model());
    expect(fallback).toEqual([]);
    for (const name of ['hi_cast', 'shape_cast', 'shape_mul', 'sizes_cast']) expect(nodeNamed(model, name).domain).toBe('');
    expect(nodeNamed(model, 'clip').domain).toBe('quantkit');
  });

  it('6. an op no march lowers stays float between Dequantize and Quantize (unit cpu) and is listed', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [3, 4]), 0.01);
    const { out: h } = linear(b, x, { name: 'l1', k: 4, n: 4, xScale: 0.01 });
    const hq = qdq(b, h, 0.05, 'int8', 'h');
    const [hard] = b.node('Hardmax', [hq], { name: 'hardmax' });
    const [custom] = b.node('Swizzle', [hard!], { name: 'swizzle', domain: 'com.example' });
    const cq = qdq(b, custom!, 1 / 127, 'int8', 'c');
    const { out } = linear(b, cq, { name: 'l2', k: 4, n: 2, xScale: 1 / 127 });
    b.output(out, DataType.FLOAT);
    const qdqModel = b.model({ '': 21, 'com.example': 1 });
    const { model, fallback } = lowerQdq(qdqModel);
    expect(fallback).toEqual([
      { node: 'hardmax', opType: 'Hardmax', reason: 'no march lowers Hardmax' },
      { node: 'swizzle', opType: 'Swizzle', reason: 'no march lowers com.example::Swizzle' },
    ]);
    expect(nodeNamed(model, 'hardmax').domain).toBe('');
    expect(unit(model, 'h_DequantizeLinear')).toBe('cpu');
    expect(unit(model, 'c_QuantizeLinear')).toBe('cpu');
    expect(nodeNamed(model, '/l1/MatMul').domain).toBe('quantkit');
    expect(nodeNamed(model, '/l2/MatMul').domain).toBe('quantkit');
    verifyModel(model);
  });

  it('6. a GEMM with float weights (here a ConvTranspose and a MatMul) is a fallback with the reason', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [1, 2, 4, 4]), 0.01);
    const w = b.initializer('w', new Float32Array(2 * 3 * 4), [2, 3, 2, 2]);
    const [up] = b.node('ConvTranspose', [x, w], { name: 'up', attributes: { kernel_shape: [2, 2] } });
    const flat = b.node('Flatten', [up!], { name: 'flat' })[0]!;
    const [mm] = b.node('MatMul', [qdq(b, flat, 0.1, 'int8', 'f'), b.initializer('fw', new Float32Array(75 * 2), [75, 2])], {
      name: 'float_mm',
    });
    b.output(mm!, DataType.FLOAT);
    const { fallback } = lowerQdq(b.model());
    expect(fallback).toEqual([
      { node: 'up', opType: 'ConvTranspose', reason: 'its weight is float (no DequantizeLinear of int8 weights)' },
      {
        node: 'float_mm',
        opType: 'MatMul',
        reason: 'its second operand is float (not a DequantizeLinear of int8 weights or an activation)',
      },
    ]);
  });

  it('1. ConvTranspose (weight per channel on axis 1, int32 bias) → quantkit::ConvTranspose keeping its attributes', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [1, 2, 4, 4]), 0.02);
    const wScales = [0.01, 0.02, 0.03];
    const w = constDq(b, 'w', ints(Int8Array, 2 * 3 * 4, 127), [2, 3, 2, 2], wScales, 1);
    const bias = constDq(b, 'b', new Int32Array([100, -200, 300]), [3], wScales.map((s) => accScale(0.02, s)), 0);
    const [up] = b.node('ConvTranspose', [x, w, bias], { name: 'up', attributes: { kernel_shape: [2, 2], strides: [2, 2], output_padding: [1, 0] } });
    b.output(qdq(b, up!, 0.05, 'int8', 'y'), DataType.FLOAT);
    const { model, fallback } = lowerQdq(b.model());
    expect(fallback).toEqual([]);
    const node = nodeNamed(model, 'up');
    expect([node.domain, node.inputs.map((v) => v!.name)]).toEqual(['quantkit', ['input_quantized', 'w_quantized', 'b_quantized']]);
    expect([intsAttribute(node, 'strides'), intsAttribute(node, 'output_padding'), stringAttribute(node, 'out_dtype')]).toEqual([
      [2, 2],
      [1, 0],
      'int32',
    ]);
    expect(floatsAttribute(node, 'w_scale')).toEqual(wScales.map(Math.fround));
    verifyModel(model);
  });

  it('1. an activation × activation MatMul reads both integer tensors with one w_scale', () => {
    const b = new GraphBuilder();
    const a = qdq(b, b.input('a', DataType.FLOAT, [2, 3, 4]), 0.01, 'int16');
    const c = qdq(b, b.input('c', DataType.FLOAT, [2, 4, 5]), 0.02, 'int16');
    const [mm] = b.node('MatMul', [a, c], { name: 'qk' });
    b.output(mm!, DataType.FLOAT);
    const { model } = lowerQdq(b.model());
    const qk = nodeNamed(model, 'qk');
    expect(qk.inputs.map((v) => v?.name)).toEqual(['a_quantized', 'c_quantized']);
    expect(floatsAttribute(qk, 'w_scale')).toEqual([Math.fround(0.02)]);
    const dequantize = qk.outputs[0]!.uses()[0]!.node;
    expect(floatsAttribute(dequantize, 'scale')).toEqual([Math.fround(Math.fround(0.01) * Math.fround(0.02))]);
    expect(dequantize.attribute('axis')).toBeUndefined();
  });

  it('1. Gemm (transB = 1, weight axis 0) keeps transB and drops alpha / beta', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [1, 4]), 0.01);
    const w = constDq(b, 'fc.w', ints(Int8Array, 12, 100), [3, 4], [0.1, 0.2, 0.3], 0);
    const bias = constDq(b, 'fc.b', new Int32Array([1, 2, 3]), [3], [0.1, 0.2, 0.3].map((s) => accScale(0.01, s)), 0);
    const [y] = b.node('Gemm', [x, w, bias], { name: 'fc', attributes: { alpha: 1.0, beta: 1.0, transB: 1 }, outputs: ['logits'] });
    b.output(y!, DataType.FLOAT);
    const { model } = lowerQdq(b.model());
    const fc = nodeNamed(model, 'fc');
    expect([...fc.attributes.keys()]).toEqual(['transB', 'out_dtype', 'x_scale', 'w_scale']);
    expect(fc.inputs[2]!.name).toBe('fc.b_quantized');
    expect(model.graph.outputs[0]!.name).toBe('logits');
  });

  it('3. an opset-13 model (another tool) is upgraded and converts', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [3, 4]), 0.01);
    const { out } = linear(b, x, { name: 'l', k: 4, n: 2, xScale: 0.01 });
    b.output(out, DataType.FLOAT);
    const { model } = lowerQdq(b.model({ '': 13 }, 7));
    expect(model.opset).toBe(21);
    expect(nodeNamed(model, '/l/MatMul').domain).toBe('quantkit');
  });

  it('8. unused constants go, but a weight another op still reads stays', () => {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [3, 4]), 0.01);
    const { out } = linear(b, x, { name: 'l', k: 4, n: 2, xScale: 0.01, bias: false });
    const shared = nodeNamed(b.model(), '/l/MatMul').inputs[1]!;
    const [sig] = b.node('Sigmoid', [shared], { name: 'uses_weight' });
    b.output(out, DataType.FLOAT);
    b.output(sig!, DataType.FLOAT);
    const { model } = lowerQdq(b.model());
    const dequantize = nodeNamed(model, 'l.w_DequantizeLinear');
    expect(dequantize.opType).toBe('Dequantize');
    expect(intAttribute(dequantize, 'axis')).toBe(1);
    expect(model.graph.initializers.has('l.w_scale')).toBe(false);
  });
});
