import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { Tensor } from './tensor.js';

/** x → Relu(r) → y, with y a graph output and also read by Neg(n). */
function reluFeedingOutputAndNeg() {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [4]);
  const [y] = b.node('Relu', [x], { name: 'r' });
  const [z] = b.node('Neg', [y!], { name: 'n' });
  b.output(y!);
  b.output(z!);
  return { graph: b.graph, x, y: y!, z: z! };
}

describe('Value.replaceAllUsesWith', () => {
  it('moves every node use to the other value, including two uses by one node', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x');
    const x2 = b.input('x2');
    const [m] = b.node('Mul', [x, x], { name: 'mul' });
    b.node('Neg', [x], { name: 'neg' });
    b.output(m!);
    x.replaceAllUsesWith(x2);
    expect(x.useCount).toBe(0);
    expect(x2.uses().map(({ node, index }) => `${node.name}:${index}`).sort()).toEqual(['mul:0', 'mul:1', 'neg:0']);
  });

  it('leaves graph outputs on the old value by default', () => {
    const { graph, x, y } = reluFeedingOutputAndNeg();
    const [neg] = graph.nodes().filter((n) => n.name === 'n');
    y.replaceAllUsesWith(x);
    expect(neg!.input(0)).toBe(x);
    expect(graph.outputs[0]).toBe(y);
  });

  it('replaces graph outputs too with graphOutputs: true', () => {
    const { graph, x, y, z } = reluFeedingOutputAndNeg();
    y.replaceAllUsesWith(x, { graphOutputs: true });
    expect(graph.outputs).toEqual([x, z]);
    expect(y.isGraphOutput()).toBe(false);
  });

  it('is a no-op when replacing a value with itself', () => {
    const { y } = reluFeedingOutputAndNeg();
    y.replaceAllUsesWith(y, { graphOutputs: true });
    expect(y.useCount).toBe(1);
    expect(y.isGraphOutput()).toBe(true);
  });
});

describe('Value queries', () => {
  it('knows whether it is a graph input, output or initializer', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x');
    const w = b.initializer('w', Tensor.fromArray(new Float32Array([1]), [1]));
    const [y] = b.node('Add', [x, w]);
    b.output(y!);
    expect([x.isGraphInput(), x.isInitializer(), x.isGraphOutput()]).toEqual([true, false, false]);
    expect([w.isGraphInput(), w.isInitializer()]).toEqual([false, true]);
    expect([y!.isGraphOutput(), y!.isGraphInput()]).toEqual([true, false]);
    expect(w.producer()).toBeUndefined();
    expect(w.producerIndex()).toBe(-1);
    expect(String(x)).toBe('%x');
  });
});
