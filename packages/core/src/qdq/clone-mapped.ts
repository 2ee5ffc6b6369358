import type { Graph } from '../ir/graph.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';

/** A copy of a model and the maps from the original's values and nodes to their copies. */
export interface MappedClone {
  readonly model: Model;
  readonly values: ReadonlyMap<Value, Value>;
  readonly nodes: ReadonlyMap<Node, Node>;
}

/**
 * `cloneModel`, plus the correspondence between original and copy: side tables keyed by the original's Values and
 * Nodes (a QuantPlan) can then be read against the copy by identity, with no reliance on names being unique.
 * cloneModel keeps inputs, initializers, nodes and outputs in order, so walking both models together pairs them.
 */
export function cloneMapped(model: Model): MappedClone {
  const copy = cloneModel(model);
  const values = new Map<Value, Value>();
  const nodes = new Map<Node, Node>();
  pairGraphs(model.graph, copy.graph, values, nodes);
  return { model: copy, values, nodes };
}

function pairGraphs(original: Graph, copy: Graph, values: Map<Value, Value>, nodes: Map<Node, Node>): void {
  const pairAll = (a: readonly Value[], b: readonly Value[]) => a.forEach((value, i) => values.set(value, b[i]!));
  pairAll(original.inputs, copy.inputs);
  pairAll([...original.initializers.values()], [...copy.initializers.values()]);
  pairAll(original.sparseInitializers, copy.sparseInitializers);
  const copies = copy.nodes();
  original.nodes().forEach((node, i) => {
    const twin = copies[i]!;
    nodes.set(node, twin);
    pairAll(node.outputs, twin.outputs);
    const subgraphs = twin.subgraphs();
    node.subgraphs().forEach((subgraph, j) => pairGraphs(subgraph, subgraphs[j]!, values, nodes));
  });
}
