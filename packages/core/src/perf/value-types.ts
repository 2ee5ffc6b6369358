import { AttributeType } from '../ir/attribute.js';
import { DataType, dtypeBits } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorElemType } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { INTEGER_DOMAIN } from '../integer/integer-ops.js';

const DTYPES: Record<string, number> = { int8: DataType.INT8, int16: DataType.INT16, int32: DataType.INT32, float32: DataType.FLOAT };

/**
 * Element types of every value of an integer-IR graph. convert leaves most quantkit outputs untyped, and the
 * generic rule of inferElemTypes (the first input's type) is wrong for them: Quantize gives its `dtype`, Rescale
 * and the GEMMs their `out_dtype`, Dequantize and the VPU float islands float32. Standard ops keep their declared
 * type, else the few rules below, else their first typed input's (pass-through ops on integer tensors).
 */
export function valueTypes(graph: Graph): Map<Value, number> {
  const types = new Map<Value, number>();
  const typeOf = (value: Value | undefined) =>
    value === undefined ? undefined : (types.get(value) ?? tensorElemType(value.type) ?? value.constValue?.dtype);
  for (const value of graph.inputs) if (typeOf(value) !== undefined) types.set(value, typeOf(value)!);
  for (const value of graph.initializers.values()) types.set(value, value.constValue!.dtype);
  for (const node of graph) {
    node.outputs.forEach((output, index) => {
      const declared = tensorElemType(output.type);
      const elemType =
        node.domain === INTEGER_DOMAIN ? (declared ?? quantkitOutputType(node)) : (declared ?? standardOutputType(node, index, typeOf));
      if (elemType !== undefined) types.set(output, elemType);
    });
  }
  return types;
}

const INT64_OUTPUTS = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero']);
const BOOL_OUTPUTS = new Set(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

function standardOutputType(node: Node, index: number, typeOf: (value: Value | undefined) => number | undefined): number | undefined {
  if (INT64_OUTPUTS.has(node.opType) || (node.opType === 'TopK' && index === 1)) return DataType.INT64;
  if (BOOL_OUTPUTS.has(node.opType)) return DataType.BOOL;
  switch (node.opType) {
    case 'Cast':
      return node.attribute('to')?.asNumber();
    case 'Constant': {
      const value = node.attribute('value');
      return value?.type === AttributeType.TENSOR ? (value.value as Tensor).dtype : undefined;
    }
    case 'DequantizeLinear':
      return typeOf(node.inputs[1]) ?? DataType.FLOAT;
    case 'QuantizeLinear':
      return node.attribute('output_dtype')?.asNumber() ?? typeOf(node.inputs[2]) ?? DataType.UINT8;
    case 'Where':
      return typeOf(node.inputs[1]);
    default:
      return node.inputs.map(typeOf).find((t) => t !== undefined);
  }
}

function quantkitOutputType(node: Node): number {
  const attribute = (name: string) => {
    const a = node.attribute(name);
    return a?.type === AttributeType.STRING ? a.asString() : undefined;
  };
  switch (node.opType) {
    case 'Quantize':
      return DTYPES[attribute('dtype') ?? ''] ?? DataType.INT8;
    case 'Rescale':
    case 'Conv':
    case 'ConvTranspose':
    case 'Lut':
    case 'Epilogue':
    case 'ScaleShift':
    case 'Gemm':
    case 'MatMul':
      return DTYPES[attribute('out_dtype') ?? ''] ?? DataType.INT32;
    default:
      return DataType.FLOAT;
  }
}

/** Bytes per element of an element type; undefined for strings and unknown types. Sub-byte types count as 1. */
export function bytesPerElement(elemType: number | undefined): number | undefined {
  if (elemType === undefined) return undefined;
  const bits = dtypeBits(elemType);
  return bits === undefined ? undefined : Math.max(1, bits / 8);
}
