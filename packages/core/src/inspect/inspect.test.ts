import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { inspectModel } from './inspect.js';

/**
 * images → Conv(conv1) → Relu → Conv(conv2) → Relu → Flatten → Gemm(fc) → MatMul(head, activation weight)
 *        → NonMaxSuppression(nms) and com.acme::Decode(decode); an If with a Relu in each branch.
 */
function detector() {
  const b = new GraphBuilder('det');
  const images = b.input('images', DataType.FLOAT, ['N', 3, 8, 8]);
  const scores = b.input('scores', DataType.FLOAT, ['N', 1, 'B']);
  const w1 = b.initializer('w1', new Float32Array(4 * 3 * 3 * 3), [4, 3, 3, 3]);
  const b1 = b.initializer('b1', new Float32Array(4), [4]);
  const w2 = b.initializer('w2', new Float32Array(4 * 4), [4, 4, 1, 1]);
  const wf = b.initializer('wf', Tensor.fromArray(new Float32Array(10 * 256), [10, 256]));
  const [c1] = b.node('Conv', [images, w1, b1], { name: 'conv1' });
  const [r1] = b.node('Relu', [c1!], { name: 'relu1' });
  const [c2] = b.node('Conv', [r1!, w2], { name: 'conv2' });
  const [r2] = b.node('Relu', [c2!], { name: 'relu2' });
  const [f] = b.node('Flatten', [r2!], { name: 'flatten' });
  const [fc] = b.node('Gemm', [f!, wf], { name: 'fc', attributes: { transB: 1 } });
  const [head] = b.node('MatMul', [fc!, images], { name: 'head' });
  const [boxes] = b.node('Decode', [head!], { name: 'decode', domain: 'com.acme' });
  const [keep] = b.node('NonMaxSuppression', [boxes!, scores], { name: 'nms' });
  const branch = (name: string) => {
    const g = new Graph(name);
    g.append(new Node({ opType: 'Relu', name: `${name}-relu`, inputs: [fc!] }));
    return g;
  };
  const cond = b.input('cond', DataType.BOOL, []);
  b.node('If', [cond], { name: 'if', attributes: { then_branch: branch('then'), else_branch: branch('else') } });
  b.output(keep!, DataType.INT64, [undefined, 3]);
  b.output(head!);
  const model = b.model({ '': 21, 'com.acme': 1 });
  model.producerName = 'pytorch';
  model.producerVersion = '2.4.0';
  return model;
}

describe('inspectModel', () => {
  const report = inspectModel(detector());

  it('reports the model header, inputs and outputs', () => {
    expect(report.irVersion).toBe(10);
    expect(report.producer).toBe('pytorch 2.4.0');
    expect(report.opsets).toEqual([
      { domain: '', version: 21 },
      { domain: 'com.acme', version: 1 },
    ]);
    expect(report.inputs).toEqual([
      { name: 'images', dtype: dtypeName(DataType.FLOAT), shape: ['N', 3, 8, 8] },
      { name: 'scores', dtype: dtypeName(DataType.FLOAT), shape: ['N', 1, 'B'] },
      { name: 'cond', dtype: dtypeName(DataType.BOOL), shape: [] },
    ]);
    expect(report.outputs).toEqual([
      { name: 'nms_out0', dtype: dtypeName(DataType.INT64), shape: [undefined, 3] },
      { name: 'head_out0', dtype: 'unknown', shape: null },
    ]);
  });

  it('counts ops in all graphs, most frequent first, custom domains prefixed', () => {
    expect(report.nodeCount).toBe(12);
    expect(report.ops).toEqual({
      Relu: 4,
      Conv: 2,
      'com.acme::Decode': 1,
      Flatten: 1,
      Gemm: 1,
      If: 1,
      MatMul: 1,
      NonMaxSuppression: 1,
    });
    expect(Object.keys(report.ops)[0]).toBe('Relu');
  });

  it('counts parameters and their bytes over the initializers', () => {
    expect(report.parameters).toBe(108 + 4 + 16 + 2560);
    expect(report.parameterBytes).toBe(4 * (108 + 4 + 16 + 2560));
    expect([report.constantParameters, report.constantParameterBytes]).toEqual([0, 0]);
  });

  it('counts the parameters Constant nodes hold apart (paddle2onnx weights)', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [2, 4]);
    const [w] = b.node('Constant', [], { attributes: { value: Tensor.fromArray(new Float32Array(12), [4, 3]) } });
    const [s] = b.node('Constant', [], { attributes: { value_floats: [0.5, 1.5, 2.5] } });
    const [y] = b.node('MatMul', [x, w!]);
    b.output(b.node('Mul', [y!, s!])[0]!);
    const r = inspectModel(b.model({ '': 17 }));
    expect([r.parameters, r.constantParameters, r.constantParameterBytes]).toEqual([0, 15, 60]);
  });

  it('lists GEMM-like nodes with the shape of their weight initializer', () => {
    expect(report.gemmLike).toEqual([
      { name: 'conv1', opType: 'Conv', weightShape: [4, 3, 3, 3] },
      { name: 'conv2', opType: 'Conv', weightShape: [4, 4, 1, 1] },
      { name: 'fc', opType: 'Gemm', weightShape: [10, 256] },
      { name: 'head', opType: 'MatMul', weightShape: null },
    ]);
  });

  it('finds the weight shape through Identity and Constant nodes (PyTorch de-duplicated weights)', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [2, 4]);
    const w = b.initializer('w', new Float32Array(12), [4, 3]);
    const [shared] = b.node('Identity', [w], { name: 'w_copy' });
    const [c] = b.node('Constant', [], { name: 'c', attributes: { value: Tensor.fromArray(new Float32Array(6), [3, 2]) } });
    const [y] = b.node('MatMul', [x, shared!], { name: 'mm1' });
    const [z] = b.node('MatMul', [y!, c!], { name: 'mm2' });
    b.output(z!);
    expect(inspectModel(b.model()).gemmLike.map((g) => g.weightShape)).toEqual([[4, 3], [3, 2]]);
  });

  it('lists unsupported ops (NonMaxSuppression, a custom-domain op, If) with their nodes', () => {
    expect(report.unsupported).toEqual([
      { opType: 'Decode', domain: 'com.acme', count: 1, nodes: ['decode'] },
      { opType: 'If', domain: '', count: 1, nodes: ['if'] },
      { opType: 'NonMaxSuppression', domain: '', count: 1, nodes: ['nms'] },
    ]);
  });

  it('names unnamed unsupported nodes by their position', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x');
    b.node('Relu', [x], { name: 'r' });
    b.graph.append(new Node({ opType: 'TopK', inputs: [x] }));
    expect(inspectModel(b.model()).unsupported).toEqual([{ opType: 'TopK', domain: '', count: 1, nodes: ['#1'] }]);
  });

  it('does not list initializers that are also graph inputs (IR < 4) as inputs', () => {
    const model = decodeModel(encodeModel(detector()));
    model.graph.inputs.push(model.graph.initializers.get('w1')!);
    expect(inspectModel(model).inputs.map((i) => i.name)).toEqual(['images', 'scores', 'cond']);
  });

  it('reads a decoded model the same way', () => {
    expect(inspectModel(decodeModel(encodeModel(detector())))).toEqual(report);
  });
});
