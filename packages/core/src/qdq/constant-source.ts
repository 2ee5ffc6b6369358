import { AttributeType } from '../ir/attribute.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';

/** Where the constant data that reaches a node input lives. */
export interface ConstantSource {
  readonly tensor: Tensor;
  /** The value that holds the data: an initializer, or the output of a Constant node. */
  readonly value: Value;
  /** Identity nodes between `value` and the value that was asked about, the one nearest `value` first. */
  readonly identities: readonly Node[];
}

/**
 * The constant behind `value`: an initializer, a Constant node, or either of them seen through a chain of
 * Identity nodes (exporters put Identity in front of shared weights). Undefined for anything computed at run time.
 */
export function constantSource(value: Value | undefined): ConstantSource | undefined {
  const identities: Node[] = [];
  let current = value;
  while (current) {
    if (current.constValue) return { tensor: current.constValue, value: current, identities: identities.reverse() };
    const producer = current.producer();
    if (!producer || (producer.domain !== '' && producer.domain !== 'ai.onnx')) return undefined;
    if (producer.opType === 'Constant') {
      const tensor = constantNodeTensor(producer);
      return tensor ? { tensor, value: current, identities: identities.reverse() } : undefined;
    }
    if (producer.opType !== 'Identity') return undefined;
    identities.push(producer);
    current = producer.inputs[0];
  }
  return undefined;
}

/** The tensor a Constant node outputs, for the attribute kinds that hold numbers. */
function constantNodeTensor(node: Node): Tensor | undefined {
  const [attribute] = node.attributes.values();
  if (!attribute) return undefined;
  switch (attribute.name) {
    case 'value':
      return attribute.type === AttributeType.TENSOR ? (attribute.value as Tensor) : undefined;
    case 'value_float':
      return Tensor.fromArray(new Float32Array([attribute.asNumber()]), []);
    case 'value_floats': {
      const values = attribute.asNumbers();
      return Tensor.fromArray(Float32Array.from(values), [values.length]);
    }
    case 'value_int':
      return Tensor.fromArray(new BigInt64Array([BigInt(attribute.value as number | bigint)]), []);
    case 'value_ints': {
      const values = attribute.value as (number | bigint)[];
      return Tensor.fromArray(
        BigInt64Array.from(values, (v) => BigInt(v)),
        [values.length],
      );
    }
    default:
      return undefined;
  }
}
