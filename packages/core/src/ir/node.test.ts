import { describe, expect, it } from 'vitest';
import { Attribute, AttributeType } from './attribute.js';
import { Graph } from './graph.js';
import { Node } from './node.js';
import { Value } from './value.js';
import { codeOf } from '../testing/error-of.js';

/** The uses of `value` as `name:index` strings, sorted, for compact assertions. */
function usesOf(value: Value): string[] {
  return value
    .uses()
    .map(({ node, index }) => `${node.name}:${index}`)
    .sort();
}

describe('Node inputs keep def-use right', () => {
  it('records a use per input slot when constructed, including one value read twice', () => {
    const x = new Value('x');
    const node = new Node({ opType: 'Mul', name: 'mul', inputs: [x, x] });
    expect(usesOf(x)).toEqual(['mul:0', 'mul:1']);
    expect(node.inputs).toEqual([x, x]);
  });

  it('setInput moves one use from the old value to the new one', () => {
    const a = new Value('a');
    const b = new Value('b');
    const node = new Node({ opType: 'Add', name: 'add', inputs: [a, a] });
    node.setInput(1, b);
    expect(usesOf(a)).toEqual(['add:0']);
    expect(usesOf(b)).toEqual(['add:1']);
    expect(node.input(1)).toBe(b);
  });

  it('setInput with the value already there changes nothing', () => {
    const a = new Value('a');
    const node = new Node({ opType: 'Relu', name: 'relu', inputs: [a] });
    node.setInput(0, a);
    expect(usesOf(a)).toEqual(['relu:0']);
  });

  it('setInput(undefined) omits an optional input and drops its use', () => {
    const a = new Value('a');
    const b = new Value('b');
    const node = new Node({ opType: 'Clip', name: 'clip', inputs: [a, b] });
    node.setInput(1, undefined);
    expect(b.useCount).toBe(0);
    expect(node.inputs).toEqual([a, undefined]);
  });

  it('setInput at the end appends; past the end it throws QK_IR_MISUSE', () => {
    const a = new Value('a');
    const node = new Node({ opType: 'Concat', name: 'cat', inputs: [a] });
    node.setInput(1, a);
    expect(usesOf(a)).toEqual(['cat:0', 'cat:1']);
    expect(codeOf(() => node.setInput(3, a))).toBe('QK_IR_MISUSE');
    expect(codeOf(() => node.setInput(-1, a))).toBe('QK_IR_MISUSE');
    expect(node.inputs.length).toBe(2);
  });

  it('appendInput adds a use at the new index, also for undefined', () => {
    const a = new Value('a');
    const node = new Node({ opType: 'Concat', name: 'cat', inputs: [a] });
    node.appendInput(undefined);
    node.appendInput(a);
    expect(node.inputs).toEqual([a, undefined, a]);
    expect(usesOf(a)).toEqual(['cat:0', 'cat:2']);
  });

  it('truncateInputs drops the trailing inputs and only their uses', () => {
    const a = new Value('a');
    const b = new Value('b');
    const node = new Node({ opType: 'Concat', name: 'cat', inputs: [a, b, a, b] });
    node.truncateInputs(2);
    expect(node.inputs).toEqual([a, b]);
    expect(usesOf(a)).toEqual(['cat:0']);
    expect(usesOf(b)).toEqual(['cat:1']);
    node.truncateInputs(5);
    expect(node.inputs.length).toBe(2);
    node.truncateInputs(0);
    expect(a.useCount + b.useCount).toBe(0);
  });

  it('uses() is a snapshot: editing while iterating visits every original use', () => {
    const a = new Value('a');
    const b = new Value('b');
    const n1 = new Node({ opType: 'Relu', name: 'n1', inputs: [a] });
    const n2 = new Node({ opType: 'Relu', name: 'n2', inputs: [a] });
    for (const { node, index } of a.uses()) node.setInput(index, b);
    expect(a.useCount).toBe(0);
    expect(n1.input(0)).toBe(b);
    expect(n2.input(0)).toBe(b);
  });
});

describe('Node outputs', () => {
  it('creates named fresh outputs from a count and sets their producer and index', () => {
    const node = new Node({ opType: 'Split', name: 'split', outputs: 2 });
    expect(node.outputs.map((v) => v.name)).toEqual(['split_out0', 'split_out1']);
    expect(node.outputs[1]!.producer()).toBe(node);
    expect(node.outputs[1]!.producerIndex()).toBe(1);
    expect(node.output).toBe(node.outputs[0]);
  });

  it('refuses a value that already has a producer', () => {
    const first = new Node({ opType: 'Relu', name: 'first' });
    expect(codeOf(() => new Node({ opType: 'Relu', name: 'second', outputs: [first.output] }))).toBe('QK_IR_MISUSE');
  });

  it('output throws QK_IR_MISUSE on a node without outputs', () => {
    const node = new Node({ opType: 'Print', outputs: [] });
    expect(codeOf(() => node.output)).toBe('QK_IR_MISUSE');
  });

  it('replaceOutput gives the slot to the new value and leaves the uses on the old one', () => {
    const node = new Node({ opType: 'Relu', name: 'relu' });
    const old = node.output;
    const reader = new Node({ opType: 'Neg', name: 'neg', inputs: [old] });
    const fresh = new Value('fresh');
    expect(node.replaceOutput(0, fresh)).toBe(old);
    expect(fresh.producer()).toBe(node);
    expect(fresh.producerIndex()).toBe(0);
    expect(old.producer()).toBeUndefined();
    expect(reader.input(0)).toBe(old);
    expect(codeOf(() => node.replaceOutput(1, new Value('z')))).toBe('QK_IR_MISUSE');
  });

  it('new outputs join the graph of a node already in one', () => {
    const graph = new Graph('g');
    const node = graph.append(new Node({ opType: 'Relu', name: 'relu' }));
    const extra = new Value('extra');
    node.appendOutput(extra);
    expect(extra.graph).toBe(graph);
  });
});

describe('Node attributes', () => {
  it('converts plain attribute inputs and keeps file order', () => {
    const node = new Node({ opType: 'Conv', attributes: { group: 1, strides: [2, 2], auto_pad: 'NOTSET', alpha: 0.5 } });
    expect([...node.attributes.keys()]).toEqual(['group', 'strides', 'auto_pad', 'alpha']);
    expect(node.attribute('group')?.type).toBe(AttributeType.INT);
    expect(node.attribute('strides')?.asNumbers()).toEqual([2, 2]);
    expect(node.attribute('auto_pad')?.asString()).toBe('NOTSET');
    expect(node.attribute('alpha')?.type).toBe(AttributeType.FLOAT);
  });

  it('takes a list of Attribute objects as they are', () => {
    const axis = Attribute.int('axis', -1);
    const node = new Node({ opType: 'Softmax', attributes: [axis] });
    expect(node.attribute('axis')).toBe(axis);
    node.setAttribute('axis', 1);
    expect(node.attribute('axis')?.asNumber()).toBe(1);
  });

  it('subgraphs() lists GRAPH and GRAPHS attributes', () => {
    const thenBranch = new Graph('then');
    const elseBranch = new Graph('else');
    const bodies = [new Graph('a'), new Graph('b')];
    const node = new Node({
      opType: 'If',
      attributes: { then_branch: thenBranch, else_branch: elseBranch, bodies: new Attribute('bodies', AttributeType.GRAPHS, bodies) },
    });
    expect(node.subgraphs()).toEqual([thenBranch, elseBranch, ...bodies]);
  });

  it('describe() names the node, its domain and op type', () => {
    expect(new Node({ opType: 'Conv', name: 'conv1' }).describe()).toBe("'conv1' (Conv)");
    expect(new Node({ opType: 'Foo', domain: 'com.acme' }).describe()).toBe('(com.acme::Foo)');
  });
});
