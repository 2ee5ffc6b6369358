import type { Model } from '../ir/model.js';

/**
 * Position of each measured tensor along the network, for reports that plot precision in graph order (the
 * layers of a report are listed worst first).
 *
 * 1. A tensor made by a node gets 1 + that node's index in the graph's topological order.
 * 2. A graph input (or any tensor no node makes, such as an initializer) gets 0.
 * 3. The layers keep their order and every other field; `order` is added.
 */
export function withGraphOrder<T extends { tensor: string }>(layers: readonly T[], model: Model): (T & { order: number })[] {
  const position = new Map<string, number>();
  let index = 0;
  for (const node of model.graph) {
    index += 1;
    for (const output of node.outputs) position.set(output.name, index);
  }
  return layers.map((layer) => ({ ...layer, order: position.get(layer.tensor) ?? 0 }));
}
