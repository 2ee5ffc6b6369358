/**
 * Value types, shaped like ONNX's TypeProto (camelCase) so that any type — tensor, sequence, map, optional,
 * sparse, opaque — survives a round trip. int64 dims may arrive as protobufjs Long objects; read them through
 * `tensorShape`.
 */
export interface DimInfo {
  dimValue?: number | { toNumber(): number };
  dimParam?: string;
  denotation?: string;
}

export interface TensorTypeInfo {
  elemType?: number;
  shape?: { dim?: DimInfo[] };
}

export interface TypeInfo {
  tensorType?: TensorTypeInfo;
  sequenceType?: { elemType?: TypeInfo };
  mapType?: { keyType?: number; valueType?: TypeInfo };
  optionalType?: { elemType?: TypeInfo };
  sparseTensorType?: TensorTypeInfo;
  opaqueType?: { domain?: string; name?: string };
  denotation?: string;
}

/** A dimension is a size, a symbolic name, or unknown. */
export type Dim = number | string | undefined;

/** A tensor type from an element type and dims (numbers, symbolic names, or undefined for unknown). */
export function tensorType(elemType: number, dims?: readonly Dim[]): TypeInfo {
  const type: TensorTypeInfo = { elemType };
  if (dims) {
    type.shape = {
      dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
    };
  }
  return { tensorType: type };
}

/** The element type of a tensor type, or undefined for other kinds. */
export function tensorElemType(type: TypeInfo | undefined): number | undefined {
  return type?.tensorType?.elemType;
}

/** The dims of a tensor type; undefined when the rank is unknown. */
export function tensorShape(type: TypeInfo | undefined): Dim[] | undefined {
  const shape = type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => {
    // Own properties only: a decoded Dimension without dim_value still reads 0 from its prototype.
    if (Object.prototype.hasOwnProperty.call(d, 'dimValue') && d.dimValue !== undefined && d.dimValue !== null) {
      return typeof d.dimValue === 'number' ? d.dimValue : d.dimValue.toNumber();
    }
    return d.dimParam !== undefined && d.dimParam !== '' ? d.dimParam : undefined;
  });
}
