import { QuantkitError } from '../errors/quantkit-error.js';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { TypeInfo } from './type-info.js';

/** ONNX AttributeProto.AttributeType numbers. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

/** int64 attribute values: a number when it is safe, a bigint beyond 2^53 (Slice ends of INT64_MAX, …). */
export type Int64 = number | bigint;

export interface AttributeValueMap {
  [AttributeType.UNDEFINED]: undefined;
  [AttributeType.FLOAT]: number;
  [AttributeType.INT]: Int64;
  [AttributeType.STRING]: Uint8Array;
  [AttributeType.TENSOR]: Tensor;
  [AttributeType.GRAPH]: Graph;
  [AttributeType.FLOATS]: number[];
  [AttributeType.INTS]: Int64[];
  [AttributeType.STRINGS]: Uint8Array[];
  [AttributeType.TENSORS]: Tensor[];
  [AttributeType.GRAPHS]: Graph[];
  [AttributeType.SPARSE_TENSOR]: unknown;
  [AttributeType.SPARSE_TENSORS]: unknown[];
  [AttributeType.TYPE_PROTO]: TypeInfo;
  [AttributeType.TYPE_PROTOS]: TypeInfo[];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * A node attribute. Immutable: to change one, set a new Attribute on the node. Sparse tensors and type protos
 * are carried verbatim; a reference attribute (inside a function body) has `refAttrName`.
 */
export class Attribute<T extends AttributeType = AttributeType> {
  readonly name: string;
  readonly type: T;
  readonly value: AttributeValueMap[T];
  readonly refAttrName: string | undefined;
  readonly docString: string | undefined;
  /** @internal the decoded proto, for a faithful re-encode. */
  readonly proto: Record<string, unknown> | undefined;

  constructor(
    name: string,
    type: T,
    value: AttributeValueMap[T],
    extra: { refAttrName?: string; docString?: string; proto?: Record<string, unknown> } = {},
  ) {
    this.name = name;
    this.type = type;
    this.value = value;
    this.refAttrName = extra.refAttrName;
    this.docString = extra.docString;
    this.proto = extra.proto;
  }

  static float(name: string, value: number): Attribute<typeof AttributeType.FLOAT> {
    return new Attribute(name, AttributeType.FLOAT, value);
  }
  static int(name: string, value: Int64): Attribute<typeof AttributeType.INT> {
    return new Attribute(name, AttributeType.INT, value);
  }
  static string(name: string, value: string | Uint8Array): Attribute<typeof AttributeType.STRING> {
    return new Attribute(name, AttributeType.STRING, typeof value === 'string' ? utf8.encode(value) : value);
  }
  static floats(name: string, value: readonly number[]): Attribute<typeof AttributeType.FLOATS> {
    return new Attribute(name, AttributeType.FLOATS, [...value]);
  }
  static ints(name: string, value: readonly Int64[]): Attribute<typeof AttributeType.INTS> {
    return new Attribute(name, AttributeType.INTS, [...value]);
  }
  static strings(name: string, value: readonly (string | Uint8Array)[]): Attribute<typeof AttributeType.STRINGS> {
    return new Attribute(
      name,
      AttributeType.STRINGS,
      value.map((v) => (typeof v === 'string' ? utf8.encode(v) : v)),
    );
  }
  static tensor(name: string, value: Tensor): Attribute<typeof AttributeType.TENSOR> {
    return new Attribute(name, AttributeType.TENSOR, value);
  }
  static graph(name: string, value: Graph): Attribute<typeof AttributeType.GRAPH> {
    return new Attribute(name, AttributeType.GRAPH, value);
  }

  /** The value as a number (FLOAT or INT attributes). */
  asNumber(): number {
    if (this.type === AttributeType.FLOAT || this.type === AttributeType.INT) return Number(this.value);
    throw this.mismatch('a number');
  }

  /** The value as a list of numbers (FLOATS or INTS attributes). */
  asNumbers(): number[] {
    if (this.type === AttributeType.FLOATS || this.type === AttributeType.INTS) {
      return (this.value as Int64[]).map(Number);
    }
    throw this.mismatch('a list of numbers');
  }

  /** The value of a STRING attribute decoded as UTF-8. */
  asString(): string {
    if (this.type === AttributeType.STRING) return fromUtf8.decode(this.value as Uint8Array);
    throw this.mismatch('a string');
  }

  /** Subgraphs held by this attribute (GRAPH or GRAPHS), for walkers. */
  subgraphs(): Graph[] {
    if (this.type === AttributeType.GRAPH) return [this.value as Graph];
    if (this.type === AttributeType.GRAPHS) return this.value as Graph[];
    return [];
  }

  private mismatch(wanted: string): QuantkitError {
    return new QuantkitError('QK_ATTRIBUTE', `Attribute ${this.name} has type ${this.type}, not ${wanted}.`);
  }
}

/** Plain JS values a builder accepts for attributes: integers become INT, other numbers FLOAT, and so on. */
export type AttributeInput = number | bigint | string | number[] | string[] | Tensor | Graph | Attribute;

export function toAttribute(name: string, input: AttributeInput): Attribute {
  if (input instanceof Attribute) return input;
  if (typeof input === 'bigint') return Attribute.int(name, input);
  if (typeof input === 'number') return Number.isInteger(input) ? Attribute.int(name, input) : Attribute.float(name, input);
  if (typeof input === 'string') return Attribute.string(name, input);
  if (Array.isArray(input)) {
    if (input.length > 0 && input.every((v) => typeof v === 'string')) return Attribute.strings(name, input as string[]);
    const numbers = input as number[];
    return numbers.every((v) => Number.isInteger(v)) ? Attribute.ints(name, numbers) : Attribute.floats(name, numbers);
  }
  if ('dtype' in input) return Attribute.tensor(name, input);
  return Attribute.graph(name, input);
}
