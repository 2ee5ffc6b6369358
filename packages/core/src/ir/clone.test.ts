import { describe, expect, it } from 'vitest';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { GraphBuilder } from './builder.js';
import { cloneModel } from './clone.js';
import { DataType } from './dtype.js';
import { Graph } from './graph.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';
import { Value } from './value.js';
import { verifyGraph } from './verify.js';

/** x → Conv(conv, w, b) → Relu(relu) → If(if: then reads conv's output, else reads x) → output */
function model() {
  const b = new GraphBuilder('main');
  const x = b.input('x', DataType.FLOAT, ['N', 1, 4, 4]);
  const w = b.initializer('w', Tensor.fromArray(new Float32Array(9).fill(0.5), [1, 1, 3, 3], { name: 'w' }));
  const bias = b.initializer('b', new Float32Array([0.1]), [1]);
  const [c] = b.node('Conv', [x, w, bias], { name: 'conv', attributes: { pads: [1, 1, 1, 1] } });
  const [r] = b.node('Relu', [c!], { name: 'relu' });
  const thenBranch = new Graph('then');
  const thenOut = new Value('then_out');
  thenBranch.append(new Node({ opType: 'Neg', name: 'then-neg', inputs: [c!], outputs: [thenOut] }));
  thenBranch.addOutput(thenOut);
  const elseBranch = new Graph('else');
  const elseOut = new Value('else_out');
  elseBranch.append(new Node({ opType: 'Abs', name: 'else-abs', inputs: [x], outputs: [elseOut] }));
  elseBranch.addOutput(elseOut);
  const cond = b.input('cond', DataType.BOOL, []);
  const [out] = b.node('If', [cond], { name: 'if', attributes: { then_branch: thenBranch, else_branch: elseBranch } });
  b.output(r!, DataType.FLOAT);
  b.output(out!, DataType.FLOAT);
  const m = b.model({ '': 21, 'com.acme': 1 });
  m.producerName = 'test';
  m.metadata.set('k', 'v');
  return m;
}

const find = (graph: Graph, name: string) => [...graph.allNodes()].find((n) => n.name === name)!;

describe('cloneModel', () => {
  it('is structurally equal: it encodes to the same bytes', () => {
    const original = model();
    expect(encodeModel(cloneModel(original))).toEqual(encodeModel(original));
  });

  it('is structurally equal for a decoded model too (protos carried over)', () => {
    const decoded = decodeModel(encodeModel(model()));
    decoded.docString = 'kept';
    expect(encodeModel(cloneModel(decoded))).toEqual(encodeModel(decoded));
  });

  it('has new graphs, nodes and values but shares the immutable tensors', () => {
    const original = model();
    const copy = cloneModel(original);
    expect(copy.graph).not.toBe(original.graph);
    expect(find(copy.graph, 'conv')).not.toBe(find(original.graph, 'conv'));
    expect(copy.graph.inputs[0]).not.toBe(original.graph.inputs[0]);
    expect(copy.graph.initializers.get('w')).not.toBe(original.graph.initializers.get('w'));
    expect(copy.graph.initializers.get('w')!.constValue).toBe(original.graph.initializers.get('w')!.constValue);
    expect(verifyGraph(copy.graph)).toEqual([]);
  });

  it('is independent: editing the clone leaves the original intact', () => {
    const original = model();
    const before = encodeModel(original);
    const copy = cloneModel(original);
    const relu = find(copy.graph, 'relu');
    copy.graph.remove(find(copy.graph, 'if'), { force: true });
    copy.graph.outputs.pop();
    relu.setInput(0, copy.graph.inputs[0]!);
    copy.graph.remove(find(copy.graph, 'conv'), { force: true });
    copy.opsetImports.set('', 13);
    copy.metadata.clear();
    copy.graph.inputs[0]!.name = 'renamed';

    expect(encodeModel(original)).toEqual(before);
    const conv = find(original.graph, 'conv');
    expect(original.graph.nodes().map((n) => n.name)).toEqual(['conv', 'relu', 'if']);
    expect(conv.output.uses().map((u) => u.node.name).sort()).toEqual(['relu', 'then-neg']);
    expect(original.graph.inputs[0]!.uses().map((u) => u.node.name).sort()).toEqual(['conv', 'else-abs']);
    expect(original.opsetImports.get('')).toBe(21);
    expect(verifyGraph(original.graph)).toEqual([]);
  });

  it('maps outer-scope references in subgraphs to the cloned outer values', () => {
    const copy = cloneModel(model());
    const conv = find(copy.graph, 'conv');
    const thenNeg = find(copy.graph, 'then-neg');
    const elseAbs = find(copy.graph, 'else-abs');
    expect(thenNeg.input(0)).toBe(conv.output);
    expect(elseAbs.input(0)).toBe(copy.graph.inputs[0]);
    expect(conv.output.uses().map((u) => u.node)).toContain(thenNeg);
    expect(thenNeg.graph!.parentNode).toBe(find(copy.graph, 'if'));
  });

  it('copies the model fields', () => {
    const copy = cloneModel(model());
    expect(copy.producerName).toBe('test');
    expect([...copy.metadata]).toEqual([['k', 'v']]);
    expect([...copy.opsetImports]).toEqual([
      ['', 21],
      ['com.acme', 1],
    ]);
  });
});
