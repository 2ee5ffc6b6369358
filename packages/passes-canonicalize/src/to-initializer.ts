import { tensorType, Value, type Node, type Tensor } from '@quantkit/core';

/**
 * Makes output `index` of `node` an initializer holding `tensor`: the value keeps its name, its uses and its place
 * among the graph outputs; only its producer goes. The caller removes the node once none of its outputs is
 * produced by it any more (see dropIfDead).
 */
export function outputToInitializer(node: Node, index: number, tensor: Tensor): Value {
  const graph = node.graph!;
  const detached = new Value(graph.uniqueName(`${node.outputs[index]!.name}_folded`));
  const value = node.replaceOutput(index, detached);
  value.type = tensorType(tensor.dtype, tensor.dims);
  graph.addInitializer(value, tensor);
  return value;
}

/** Removes `node` when nothing reads its outputs (none is a graph output); returns whether it did. */
export function dropIfDead(node: Node): boolean {
  const graph = node.graph;
  if (!graph || node.subgraphs().length > 0) return false;
  if (node.outputs.some((v) => v.useCount > 0 || graph.outputs.includes(v))) return false;
  graph.remove(node);
  return true;
}
