import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';

/**
 * Fresh names for the values and nodes a rewrite adds. ONNX forbids a subgraph to reuse a name of an enclosing
 * graph, so the names of every graph of the model are taken, not only those of the graph being edited.
 */
export class NameScope {
  private readonly used = new Set<string>();

  constructor(model: Model) {
    this.collect(model.graph);
  }

  /** `base` when it is free, else `base_1`, `base_2`, … */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  private collect(graph: Graph): void {
    for (const value of graph.inputs) this.used.add(value.name);
    for (const name of graph.initializers.keys()) this.used.add(name);
    for (const value of graph.sparseInitializers) this.used.add(value.name);
    for (const node of graph) {
      if (node.name) this.used.add(node.name);
      for (const value of node.outputs) this.used.add(value.name);
      for (const subgraph of node.subgraphs()) this.collect(subgraph);
    }
  }
}
