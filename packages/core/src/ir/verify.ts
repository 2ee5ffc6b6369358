import { QuantkitError } from '../errors/quantkit-error.js';
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import type { Value } from './value.js';

/**
 * Checks the IR invariants and returns what is wrong, one sentence per problem:
 * 1. every value has one producer (names of inputs, initializers and node outputs are unique per graph);
 * 2. nodes are in topological order (an input is defined before the node that reads it);
 * 3. every value a node reads is defined: in its graph, or for subgraphs in an enclosing graph;
 * 4. def-use is consistent: each use a value records is a real input of that node, and the reverse.
 */
export function verifyGraph(graph: Graph, outer: ReadonlySet<Value> = new Set()): string[] {
  const problems: string[] = [];
  const defined = new Set<Value>(outer);
  // Values defined here; outer values' uses are checked by the graph that defines them, so they are reported once.
  const local = new Set<Value>();
  const names = new Map<string, string>();
  const define = (value: Value, what: string) => {
    if (value.name !== '') {
      const previous = names.get(value.name);
      if (previous) problems.push(`graph '${graph.name}': value ${value.name} is defined twice (${previous} and ${what}).`);
      names.set(value.name, what);
    }
    defined.add(value);
    local.add(value);
  };
  const inputSet = new Set(graph.inputs);
  for (const value of graph.inputs) define(value, 'a graph input');
  for (const value of graph.initializers.values()) if (!inputSet.has(value)) define(value, 'an initializer');
  for (const value of graph.sparseInitializers) define(value, 'a sparse initializer');

  for (const node of graph) {
    node.inputs.forEach((value, index) => {
      if (!value) return;
      if (!defined.has(value)) {
        const producer = value.producer();
        problems.push(
          producer && producer.graph === graph
            ? `${node.describe()} reads ${value.name} before ${producer.describe()} computes it (nodes out of order).`
            : `${node.describe()} reads ${value.name}, which nothing defines.`,
        );
      }
      if (!value._uses.some((use) => use.node === node && use.index === index)) {
        problems.push(`def-use: ${value.name} does not record its use by ${node.describe()} input ${index}.`);
      }
    });
    for (const subgraph of node.subgraphs()) problems.push(...verifyGraph(subgraph, defined));
    node.outputs.forEach((value, index) => {
      if (value.producer() !== node || value.producerIndex() !== index) {
        problems.push(`def-use: ${value.name} does not record ${node.describe()} as its producer.`);
      }
      define(value, `an output of ${node.describe()}`);
    });
  }
  for (const value of local) {
    for (const use of value._uses) {
      if (use.node.inputs[use.index] !== value) {
        problems.push(`def-use: ${value.name} records a use by ${use.node.describe()} that is not there.`);
      }
    }
  }
  for (const value of graph.outputs) {
    if (!defined.has(value)) problems.push(`graph '${graph.name}': output ${value.name} is not defined.`);
  }
  return problems;
}

/** Throws QK_GRAPH_INVALID listing every problem verifyGraph finds. */
export function verifyModel(model: Model, context = 'the model'): void {
  const problems = verifyGraph(model.graph);
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map((p) => `  - ${p}`).join('\n');
    const more = problems.length > 20 ? `\n  … and ${problems.length - 20} more` : '';
    throw new QuantkitError('QK_GRAPH_INVALID', `${context} is not a valid graph:\n${shown}${more}`, {
      hint: 'If a pass produced this, the pass has a bug; otherwise check the exporter.',
    });
  }
}
