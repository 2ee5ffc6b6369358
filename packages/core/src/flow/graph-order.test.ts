import { describe, expect, it } from 'vitest';
import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Value } from '../ir/value.js';
import { withGraphOrder } from './graph-order.js';

function chain(): Model {
  const graph = new Graph('g');
  const x = graph.addInput(new Value('x'));
  const a = new Value('a');
  const b = new Value('b');
  graph.append(new Node({ opType: 'Relu', name: 'r1', inputs: [x], outputs: [a] }));
  graph.append(new Node({ opType: 'Relu', name: 'r2', inputs: [a], outputs: [b] }));
  graph.addOutput(b);
  return new Model(graph);
}

describe('withGraphOrder', () => {
  it('case 1: a tensor made by a node gets 1 + the node index', () => {
    const layers = withGraphOrder([{ tensor: 'b' }, { tensor: 'a' }], chain());
    expect(layers.map((l) => l.order)).toEqual([2, 1]);
  });

  it('case 2: a graph input gets 0', () => {
    expect(withGraphOrder([{ tensor: 'x' }], chain())[0]!.order).toBe(0);
  });

  it('case 3: keeps the order of the layers and their fields', () => {
    const layers = withGraphOrder([{ tensor: 'b', sqnrDb: 3 }, { tensor: 'a', sqnrDb: 9 }], chain());
    expect(layers).toEqual([
      { tensor: 'b', sqnrDb: 3, order: 2 },
      { tensor: 'a', sqnrDb: 9, order: 1 },
    ]);
  });
});
