import { AttributeType } from '../ir/attribute.js';
import type { Graph } from '../ir/graph.js';
import { opTrait } from '../ops/op-traits.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

/**
 * The data of a constant value: an initializer, the output of a `Constant` node, or either seen through a chain
 * of `Identity` nodes (PyTorch de-duplicates equal initializers and feeds the copies through Identity). A
 * GemmGroup's `weight` and `bias` are the values the nodes read, so read their data with this.
 */
export function constantTensor(value: Value | undefined): Tensor | undefined {
  for (let current = value; current; ) {
    if (current.constValue) return current.constValue;
    const producer = current.producer();
    if (!producer || (producer.domain !== '' && producer.domain !== 'ai.onnx')) return undefined;
    if (producer.opType === 'Identity') {
      current = producer.input(0);
      continue;
    }
    if (producer.opType !== 'Constant') return undefined;
    const attribute = producer.attribute('value') ?? producer.attribute('value_float') ?? producer.attribute('value_floats');
    if (!attribute) return undefined;
    if (attribute.type === AttributeType.TENSOR) return attribute.value as Tensor;
    if (attribute.type === AttributeType.FLOAT) return Tensor.fromArray(new Float32Array([attribute.asNumber()]), []);
    if (attribute.type === AttributeType.FLOATS) {
      const floats = attribute.asNumbers();
      return Tensor.fromArray(new Float32Array(floats), [floats.length]);
    }
    return undefined;
  }
  return undefined;
}

/**
 * Values that do not depend on the data of any graph input: initializers, the outputs of shape ops (Shape,
 * Constant, ConstantOfShape, Range, Size) and of any node whose inputs are all such values. They are weights,
 * VPU-island parameters or shape arithmetic — never quantized as activations.
 */
export function staticValues(graph: Graph): Set<Value> {
  const result = new Set<Value>();
  for (const value of graph.initializers.values()) result.add(value);
  for (const node of graph) {
    const present = node.inputs.filter((v): v is Value => v !== undefined);
    // A node with subgraphs may read outer values the input list does not show.
    const isStatic =
      opTrait(node.opType, node.domain) === 'shape' ||
      (node.subgraphs().length === 0 && present.length > 0 && present.every((v) => result.has(v)));
    if (isStatic) for (const output of node.outputs) result.add(output);
  }
  return result;
}
