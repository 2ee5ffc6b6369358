import { Node, Tensor, Value, type AttributeInput, type Graph } from '@quantkit/core';

/** A new float32 initializer named after `base`. */
export function addFloatInitializer(graph: Graph, base: string, data: Float32Array, dims: readonly number[]): Value {
  return graph.addInitializer(new Value(graph.uniqueName(base)), Tensor.fromArray(data, dims));
}

/**
 * Removes what fed a rewritten pattern once nothing reads it any more: unused initializers, and Constant /
 * Identity / Cast nodes (and what fed them) whose outputs are unused. Graph inputs and outputs stay.
 */
export function removeIfDead(graph: Graph, value: Value | undefined): void {
  if (!value || value.useCount > 0 || value.isGraphOutput()) return;
  if (value.isInitializer()) {
    graph.removeInitializer(value);
    return;
  }
  if (value.isGraphInput()) return;
  const producer = value.producer();
  if (!producer || producer.graph !== graph) return;
  if (!['Constant', 'Identity', 'Cast'].includes(producer.opType)) return;
  if (producer.outputs.some((output) => output.useCount > 0 || output.isGraphOutput())) return;
  const inputs = [...producer.inputs];
  graph.remove(producer);
  for (const input of inputs) removeIfDead(graph, input);
}

export interface Replacement {
  readonly opType: string;
  readonly inputs: readonly (Value | undefined)[];
  readonly attributes?: Record<string, AttributeInput>;
  readonly name: string;
}

/**
 * Replaces the nodes `chain` (each output read only inside the chain, except `last`'s) by one node that takes
 * over `last`'s output value — its name, uses and place among the graph outputs — and drops the constants only
 * the chain read. Returns the new node.
 */
export function replaceChain(graph: Graph, chain: readonly Node[], last: Node, replacement: Replacement): Node {
  const output = last.output;
  last.replaceOutput(0, new Value(graph.uniqueName(`${output.name}_replaced`)));
  const node = new Node({
    opType: replacement.opType,
    name: graph.uniqueName(replacement.name),
    inputs: replacement.inputs,
    outputs: [output],
    attributes: replacement.attributes,
  });
  graph.insertBefore(last, node);
  const fed = new Set<Value>();
  const members = new Set(chain);
  members.add(last);
  // Remove consumers before producers so that each removed node's outputs are unused.
  const ordered = [...members].sort((a, b) => graph.indexOf(b) - graph.indexOf(a));
  for (const member of ordered) {
    for (const input of member.inputs) if (input) fed.add(input);
    graph.remove(member, { force: true });
  }
  for (const value of fed) removeIfDead(graph, value);
  return node;
}

/** Whether `value` is read by exactly one node input and is not a graph output. */
export function singleUse(value: Value): boolean {
  return value.useCount === 1 && !value.isGraphOutput();
}

/** The only node that reads `value`, when there is exactly one use and it is not a graph output. */
export function soleConsumer(value: Value): Node | undefined {
  return singleUse(value) ? value.uses()[0]!.node : undefined;
}

/** Whether a node is of the standard domain and one of `opTypes`. */
export function isOp(node: Node | undefined, ...opTypes: string[]): node is Node {
  return node !== undefined && (node.domain === '' || node.domain === 'ai.onnx') && opTypes.includes(node.opType);
}
