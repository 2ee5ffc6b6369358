import { AttributeType } from './attribute.js';
import { DataType } from './dtype.js';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import { tensorElemType } from './type-info.js';
import type { Value } from './value.js';

const BOOL_OPS = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression', 'TopK:1']);

/**
 * Element types of every value in a graph, from declared types where the file has them and otherwise from
 * simple per-op rules (most ops keep their first input's type). Enough to tell float tensors from shape
 * arithmetic; not a full ONNX type inference.
 */
export function inferElemTypes(graph: Graph, known: Map<Value, number> = new Map()): Map<Value, number> {
  const types = known;
  const typeOf = (value: Value | undefined): number | undefined => {
    if (!value) return undefined;
    return types.get(value) ?? tensorElemType(value.type) ?? value.constValue?.dtype;
  };
  for (const value of graph.inputs) {
    const t = typeOf(value);
    if (t !== undefined) types.set(value, t);
  }
  for (const value of graph.initializers.values()) types.set(value, value.constValue!.dtype);
  for (const node of graph) {
    node.outputs.forEach((output, index) => {
      const declared = tensorElemType(output.type);
      if (declared !== undefined) {
        types.set(output, declared);
        return;
      }
      const inferred = ruleFor(node.opType, index, node.inputs.map(typeOf), (name) => node.attribute(name));
      if (inferred !== undefined) types.set(output, inferred);
    });
    for (const subgraph of node.subgraphs()) inferElemTypes(subgraph, types);
  }
  return types;
}

function ruleFor(
  opType: string,
  index: number,
  inputs: (number | undefined)[],
  attribute: (name: string) => { type: number; value: unknown } | undefined,
): number | undefined {
  if (BOOL_OPS.has(opType)) return DataType.BOOL;
  if (INT64_OPS.has(opType) || INT64_OPS.has(`${opType}:${index}`)) return DataType.INT64;
  switch (opType) {
    case 'Cast': {
      const to = attribute('to');
      return to ? Number(to.value) : undefined;
    }
    case 'Constant': {
      const value = attribute('value');
      if (value?.type === AttributeType.TENSOR) return (value.value as Tensor).dtype;
      if (attribute('value_float') || attribute('value_floats')) return DataType.FLOAT;
      if (attribute('value_int') || attribute('value_ints')) return DataType.INT64;
      return undefined;
    }
    case 'ConstantOfShape': {
      const value = attribute('value');
      return value ? (value.value as Tensor).dtype : DataType.FLOAT;
    }
    case 'DequantizeLinear':
      return inputs[1] ?? DataType.FLOAT;
    case 'QuantizeLinear': {
      const out = attribute('output_dtype');
      return out ? Number(out.value) : (inputs[2] ?? DataType.UINT8);
    }
    case 'Where':
      return inputs[1];
    case 'Range':
      return inputs[0];
    case 'MatMulInteger':
    case 'ConvInteger':
      return DataType.INT32;
    default:
      return inputs.find((t) => t !== undefined);
  }
}

export function isFloatType(elemType: number | undefined): boolean {
  return elemType === DataType.FLOAT || elemType === DataType.FLOAT16 || elemType === DataType.DOUBLE || elemType === DataType.BFLOAT16;
}
