import { AttributeType, DataType, Tensor, type Attribute, type Model, type Node, type Pass, type PassContext, type PassResult } from '@quantkit/core';
import { dropIfDead, outputToInitializer } from './to-initializer.js';

/** The tensor a Constant node's attribute holds, or a reason it cannot be one. */
function constantValue(attribute: Attribute): Tensor | string {
  switch (attribute.type) {
    case AttributeType.TENSOR:
      return attribute.value as Tensor;
    case AttributeType.FLOAT:
      return Tensor.fromArray(new Float32Array([attribute.asNumber()]), []);
    case AttributeType.FLOATS: {
      const floats = attribute.asNumbers();
      return Tensor.fromArray(new Float32Array(floats), [floats.length]);
    }
    case AttributeType.INT:
      return Tensor.fromArray(new BigInt64Array([BigInt(attribute.value as number | bigint)]), [], { dtype: DataType.INT64 });
    case AttributeType.INTS: {
      const ints = (attribute.value as (number | bigint)[]).map((v) => BigInt(v));
      return Tensor.fromArray(new BigInt64Array(ints), [ints.length], { dtype: DataType.INT64 });
    }
    default:
      return `its ${attribute.name} attribute (a string or sparse tensor) has no dense numeric initializer form`;
  }
}

function describe(node: Node): string {
  return node.name || node.output.name;
}

/**
 * constant-to-initializer (canonicalize) — weights and constants as initializers, where every later pass and
 * prepare look for them.
 *
 * Exporters such as paddle2onnx put weights in `Constant` nodes. The value a Constant node computes becomes an
 * initializer of the same name, with the same uses, and the node goes.
 *
 * Cases:
 * 1. `value` (a tensor): the initializer holds that tensor, whatever its dtype and rank.
 * 2. `value_float` / `value_floats`: a float32 scalar / 1-D tensor.
 * 3. `value_int` / `value_ints`: an int64 scalar / 1-D tensor.
 * 4. `value_string`, `value_strings`, `sparse_value`: left alone, with an info diagnostic naming the node.
 * 5. A Constant whose output is a graph output stays a node (an initializer cannot be a graph output in every
 *    runtime).
 * 6. Constant nodes inside subgraphs (If / Loop bodies) are left alone.
 */
export const constantToInitializer: Pass = {
  info: {
    name: 'constant-to-initializer',
    phase: 'canonicalize',
    summary: 'Constant nodes become initializers (every value_* kind)',
    after: ['raise-opset'],
  },
  run(model: Model, context: PassContext): PassResult {
    const { graph } = model;
    let modified = false;
    for (const node of graph.nodes()) {
      if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
      if (graph.outputs.includes(node.output)) continue;
      const attribute = [...node.attributes.values()][0];
      if (!attribute) continue;
      const tensor = constantValue(attribute);
      if (typeof tensor === 'string') {
        context.diagnose({ level: 'info', node: describe(node), message: `Constant ${describe(node)} stays a node: ${tensor}.` });
        continue;
      }
      outputToInitializer(node, 0, tensor);
      dropIfDead(node);
      modified = true;
    }
    return { model, modified };
  },
};
