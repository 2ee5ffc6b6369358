import Long from 'long';
import protobuf from 'protobufjs/light.js';
import { onnxSchema } from './schema.js';

// int64 fields must not lose precision (Slice ends of INT64_MAX are common), so protobufjs decodes them to Long.
protobuf.util.Long = Long as unknown as typeof protobuf.util.Long;
protobuf.configure();

const root = protobuf.Root.fromJSON(onnxSchema);

export const ModelProto = root.lookupType('onnx.ModelProto');
export const GraphProto = root.lookupType('onnx.GraphProto');
export const TensorProto = root.lookupType('onnx.TensorProto');

/** A decoded protobuf message: own properties are exactly the fields present on the wire. */
export type Message = Record<string, unknown>;

export function has(message: Message | undefined, field: string): boolean {
  return message !== undefined && Object.prototype.hasOwnProperty.call(message, field);
}

/** An int64 as a number when exactly representable, else a bigint. */
export function int64(value: unknown): number | bigint {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return value;
  if (Long.isLong(value)) {
    const long = value as Long;
    return long.high < 0x200000 && long.high >= -0x200000 ? long.toNumber() : BigInt(long.toString());
  }
  return Number(value ?? 0);
}

export function int64ToNumber(value: unknown): number {
  return Number(int64(value));
}

/** An int64 ready for protobufjs: numbers pass through, bigints become Long. */
export function toWireInt64(value: number | bigint): number | Long {
  return typeof value === 'bigint' ? Long.fromString(value.toString()) : value;
}
