import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { Graph } from './graph.js';
import { Node } from './node.js';
import { Tensor } from './tensor.js';
import { Value } from './value.js';
import { errorOf } from '../testing/error-of.js';

/** x → Relu(a) → Neg(b) → Sigmoid(c) → output */
function chain() {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [2]);
  const [a] = b.node('Relu', [x], { name: 'a' });
  const [n] = b.node('Neg', [a!], { name: 'b' });
  const [c] = b.node('Sigmoid', [n!], { name: 'c' });
  b.output(c!);
  const byName = (name: string) => b.graph.nodes().find((node) => node.name === name)!;
  return { graph: b.graph, x, byName };
}

describe('Graph node order', () => {
  it('iterates nodes in order, and nodes() is a snapshot', () => {
    const { graph } = chain();
    expect([...graph].map((n) => n.name)).toEqual(['a', 'b', 'c']);
    const snapshot = graph.nodes();
    snapshot.pop();
    expect(graph.nodeCount).toBe(3);
  });

  it('insertBefore and insertAfter place the node next to the reference', () => {
    const { graph, x, byName } = chain();
    graph.insertBefore(byName('b'), new Node({ opType: 'Abs', name: 'before-b', inputs: [x] }));
    graph.insertAfter(byName('b'), new Node({ opType: 'Abs', name: 'after-b', inputs: [x] }));
    graph.insertAfter(byName('c'), new Node({ opType: 'Abs', name: 'last', inputs: [x] }));
    graph.insertBefore(byName('a'), new Node({ opType: 'Abs', name: 'first', inputs: [x] }));
    expect(graph.nodes().map((n) => n.name)).toEqual(['first', 'a', 'before-b', 'b', 'after-b', 'c', 'last']);
    expect(graph.indexOf(byName('after-b'))).toBe(4);
    expect(byName('after-b').graph).toBe(graph);
    expect(byName('after-b').output.graph).toBe(graph);
  });

  it('insertBefore refuses a reference node that is not in the graph', () => {
    const { graph, x } = chain();
    const stranger = new Node({ opType: 'Relu', name: 'stranger', inputs: [x] });
    const error = errorOf(() => graph.insertBefore(stranger, new Node({ opType: 'Abs' })));
    expect(error.code).toBe('QK_IR_MISUSE');
    expect(error.message).toContain('stranger');
  });

  it('refuses to add a node that belongs to another graph', () => {
    const { byName } = chain();
    const other = new Graph('other');
    expect(errorOf(() => other.append(byName('a'))).code).toBe('QK_IR_MISUSE');
  });

  it('refuses to add a node that is already in this graph', () => {
    const { graph, byName } = chain();
    expect(errorOf(() => graph.append(byName('a'))).code).toBe('QK_IR_MISUSE');
    expect(errorOf(() => graph.insertAfter(byName('c'), byName('a'))).code).toBe('QK_IR_MISUSE');
    expect(graph.nodes().map((n) => n.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('Graph.remove', () => {
  it('refuses while an output is read by a node, naming the node and the user', () => {
    const { graph, byName } = chain();
    const error = errorOf(() => graph.remove(byName('a')));
    expect(error.code).toBe('QK_IR_MISUSE');
    expect(error.message).toContain("'a'");
    expect(error.message).toContain("'b'");
    expect(graph.nodeCount).toBe(3);
    expect(byName('a').inputs.length).toBe(1);
  });

  it('refuses while an output is a graph output', () => {
    const { graph, byName } = chain();
    const error = errorOf(() => graph.remove(byName('c')));
    expect(error.message).toContain('a graph output');
    expect(graph.nodeCount).toBe(3);
  });

  it('removes an unused node and drops its uses', () => {
    const { graph, x, byName } = chain();
    const extra = graph.append(new Node({ opType: 'Abs', name: 'extra', inputs: [x, x] }));
    expect(x.useCount).toBe(3);
    graph.remove(extra);
    expect(x.useCount).toBe(1);
    expect(extra.graph).toBeUndefined();
    expect(graph.nodes()).not.toContain(extra);
    expect(byName('a').input(0)).toBe(x);
  });

  it('with force removes a used node and leaves its outputs for the caller to reconnect', () => {
    const { graph, x, byName } = chain();
    const a = byName('a');
    const out = a.output;
    graph.remove(a, { force: true });
    expect(graph.nodes().map((n) => n.name)).toEqual(['b', 'c']);
    expect(x.useCount).toBe(0);
    expect(byName('b').input(0)).toBe(out);
    out.replaceAllUsesWith(x);
    expect(byName('b').input(0)).toBe(x);
  });

  it('refuses a node from elsewhere', () => {
    const { graph } = chain();
    expect(errorOf(() => graph.remove(new Node({ opType: 'Relu' }))).code).toBe('QK_IR_MISUSE');
  });
});

describe('Graph.uniqueName', () => {
  it('avoids the names of inputs, initializers, node outputs and nodes', () => {
    const { graph } = chain();
    graph.addInitializer(new Value('w'), Tensor.fromArray(new Float32Array([1]), [1]));
    expect(graph.uniqueName('x')).toBe('x_1');
    expect(graph.uniqueName('w')).toBe('w_1');
    expect(graph.uniqueName('a_out0')).toBe('a_out0_1');
    expect(graph.uniqueName('b')).toBe('b_1');
    expect(graph.uniqueName('fresh')).toBe('fresh');
  });

  it('never hands out the same name twice', () => {
    const graph = new Graph('g');
    expect([graph.uniqueName('t'), graph.uniqueName('t'), graph.uniqueName('t')]).toEqual(['t', 't_1', 't_2']);
  });

  it('sees names added after its first call', () => {
    const graph = new Graph('g');
    graph.uniqueName('start');
    const x = graph.addInput(new Value('x'));
    graph.addInitializer(new Value('w'), Tensor.fromArray(new Float32Array([1]), [1]));
    graph.append(new Node({ opType: 'Relu', name: 'relu', inputs: [x], outputs: [new Value('y')] }));
    expect(graph.uniqueName('x')).toBe('x_1');
    expect(graph.uniqueName('w')).toBe('w_1');
    expect(graph.uniqueName('y')).toBe('y_1');
    expect(graph.uniqueName('relu')).toBe('relu_1');
  });

  it('avoids the names of values inside subgraphs: node outputs, inputs and initializers', () => {
    const body = new Graph('body');
    body.addInput(new Value('i'));
    body.addInitializer(new Value('k'), Tensor.fromArray(new Float32Array([1]), [1]));
    body.append(new Node({ opType: 'Identity', name: 'inner', outputs: [new Value('inner_out')] }));
    const graph = new Graph('g');
    graph.append(new Node({ opType: 'Loop', name: 'loop', attributes: { body } }));
    expect(graph.uniqueName('inner_out')).toBe('inner_out_1');
    expect(graph.uniqueName('i')).toBe('i_1');
    expect(graph.uniqueName('k')).toBe('k_1');
  });

  it('avoids the names of sparse initializers', () => {
    const graph = new Graph('g');
    const sparse = new Value('s');
    sparse.graph = graph;
    graph.sparseInitializers.push(sparse);
    expect(graph.uniqueName('s')).toBe('s_1');
  });
});

describe('Graph initializers and inputs', () => {
  it('addInitializer needs a tensor and a free name', () => {
    const graph = new Graph('g');
    expect(errorOf(() => graph.addInitializer(new Value('w'))).code).toBe('QK_IR_MISUSE');
    const tensor = Tensor.fromArray(new Float32Array([1]), [1]);
    const w = graph.addInitializer(new Value('w'), tensor);
    expect(w.constValue).toBe(tensor);
    expect(w.graph).toBe(graph);
    const error = errorOf(() => graph.addInitializer(new Value('w'), tensor));
    expect(error.message).toContain('w');
  });

  it('removeInitializer refuses while used and removes an unused one', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x');
    const w = b.initializer('w', new Float32Array([1]), [1]);
    const [y] = b.node('Add', [x, w], { name: 'add' });
    b.output(y!);
    expect(errorOf(() => b.graph.removeInitializer(w)).code).toBe('QK_IR_MISUSE');
    b.graph.nodes()[0]!.setInput(1, x);
    b.graph.removeInitializer(w);
    expect(b.graph.initializers.size).toBe(0);
  });

  it('valuesByName maps inputs, initializers and node outputs', () => {
    const { graph } = chain();
    graph.addInitializer(new Value('w'), Tensor.fromArray(new Float32Array([1]), [1]));
    expect([...graph.valuesByName().keys()].sort()).toEqual(['a_out0', 'b_out0', 'c_out0', 'w', 'x']);
  });
});

describe('Graph.allNodes', () => {
  it('walks subgraphs, parents before children, in order', () => {
    const thenBranch = new Graph('then');
    thenBranch.append(new Node({ opType: 'Relu', name: 'then-relu' }));
    const inner = new Graph('inner');
    inner.append(new Node({ opType: 'Neg', name: 'inner-neg' }));
    const elseBranch = new Graph('else');
    elseBranch.append(new Node({ opType: 'Loop', name: 'else-loop', attributes: { body: inner } }));
    const graph = new Graph('main');
    graph.append(new Node({ opType: 'Abs', name: 'abs' }));
    graph.append(new Node({ opType: 'If', name: 'if', attributes: { then_branch: thenBranch, else_branch: elseBranch } }));
    graph.append(new Node({ opType: 'Sigmoid', name: 'sig' }));
    expect([...graph.allNodes()].map((n) => n.name)).toEqual(['abs', 'if', 'then-relu', 'else-loop', 'inner-neg', 'sig']);
  });
});

describe('uniqueName after outputs change', () => {
  it('does not hand out the name of an output added to or replaced on a node already in the graph', () => {
    const graph = new Graph('g');
    const x = graph.addInput(new Value('x'));
    const node = graph.append(new Node({ opType: 'Split', inputs: [x], outputs: [new Value('a')] }));
    expect(graph.uniqueName('base')).toBe('base');
    node.appendOutput(new Value('b'));
    node.replaceOutput(0, new Value('c'));
    expect(graph.uniqueName('b')).toBe('b_1');
    expect(graph.uniqueName('c')).toBe('c_1');
  });
});
