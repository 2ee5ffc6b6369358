import { QuantkitError } from '../errors/quantkit-error.js';
import { Attribute, AttributeType, type AttributeValueMap } from '../ir/attribute.js';
import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { TypeInfo } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { has, int64, int64ToNumber, ModelProto, type Message } from './proto.js';

type Lookup = (name: string) => Value | undefined;

export interface DecodeOptions {
  /** Named in error messages. */
  file?: string;
}

/**
 * Decodes ONNX bytes into the IR. Tensor data is not copied: tensors keep views of `bytes`, so the caller must
 * not reuse the buffer while the model is alive.
 */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): Model {
  const where = options.file ?? 'the model bytes';
  if (bytes.length === 0) {
    throw new QuantkitError('QK_FILE_EMPTY', `${where} is empty (0 bytes).`, {
      hint: 'Pass an ONNX model file; re-export it if the export was interrupted.',
      subject: options.file,
    });
  }
  let proto: Message;
  try {
    proto = ModelProto.decode(bytes) as unknown as Message;
  } catch (cause) {
    throw new QuantkitError(
      'QK_MODEL_DECODE',
      `${where} is not a readable ONNX model: ${(cause as Error).message}.`,
      { cause, hint: 'The file is truncated or is not ONNX. Re-export the model and check the copy is complete.', subject: options.file },
    );
  }
  if (!has(proto, 'graph')) {
    throw new QuantkitError('QK_MODEL_NOT_ONNX', `${where} holds no ONNX graph; it is probably not an ONNX model.`, {
      hint: 'Pass a .onnx file exported by PyTorch, TensorFlow (tf2onnx) or another ONNX exporter.',
      subject: options.file,
    });
  }
  try {
    return decodeModelProto(proto);
  } catch (error) {
    // A damaged tensor is found deep in the graph; say which file holds it.
    if (error instanceof QuantkitError && error.code === 'QK_TENSOR_DATA' && options.file) {
      throw new QuantkitError(error.code, `${options.file}: ${error.message}`, { hint: error.hint, subject: error.subject, cause: error });
    }
    throw error;
  }
}

function decodeModelProto(proto: Message): Model {
  const graph = decodeGraph(proto.graph as Message, undefined);
  const model = new Model(graph, { irVersion: int64ToNumber(proto.irVersion ?? 0), opsetImports: {} });
  model.proto = proto;
  for (const entry of (proto.opsetImport as Message[] | undefined) ?? []) {
    model.opsetImports.set((entry.domain as string | undefined) ?? '', int64ToNumber(entry.version ?? 0));
  }
  model.producerName = optionalString(proto, 'producerName');
  model.producerVersion = optionalString(proto, 'producerVersion');
  model.domain = optionalString(proto, 'domain');
  model.modelVersion = has(proto, 'modelVersion') ? int64ToNumber(proto.modelVersion) : undefined;
  model.docString = optionalString(proto, 'docString');
  for (const entry of (proto.metadataProps as Message[] | undefined) ?? []) {
    model.metadata.set((entry.key as string | undefined) ?? '', (entry.value as string | undefined) ?? '');
  }
  model.functions = (proto.functions as unknown[] | undefined) ?? [];
  return model;
}

/**
 * A string field only when the file has it: reading an absent field of a decoded message gives the prototype's
 * default '', which would make every attribute look like a reference attribute (refAttrName '').
 */
function optionalString(proto: Message, field: string): string | undefined {
  return has(proto, field) ? (proto[field] as string) : undefined;
}

function applyValueInfo(value: Value, info: Message): void {
  if (has(info, 'type')) value.type = info.type as TypeInfo;
  if (has(info, 'docString')) value.docString = info.docString as string;
  const metadata = info.metadataProps as unknown[] | undefined;
  if (metadata && metadata.length > 0) value.metadataProps = metadata;
}

/** @internal exported for tests of subgraph scoping. */
export function decodeGraph(proto: Message, outer: Lookup | undefined, parentNode?: Node): Graph {
  const graph = new Graph((proto.name as string | undefined) ?? '');
  graph.proto = proto;
  graph.parentNode = parentNode;
  if (has(proto, 'docString')) graph.docString = proto.docString as string;
  const scope = new Map<string, Value>();
  const dangling = new Map<string, Value>();
  const lookup: Lookup = (name) => scope.get(name) ?? outer?.(name);
  const resolve = (name: string): Value => {
    const found = lookup(name) ?? dangling.get(name);
    if (found) return found;
    const value = new Value(name);
    dangling.set(name, value);
    return value;
  };

  for (const info of (proto.input as Message[] | undefined) ?? []) {
    const value = new Value((info.name as string | undefined) ?? '');
    applyValueInfo(value, info);
    graph.addInput(value);
    scope.set(value.name, value);
  }
  for (const tensorProto of (proto.initializer as Message[] | undefined) ?? []) {
    const name = (tensorProto.name as string | undefined) ?? '';
    const tensor = decodeTensor(tensorProto);
    // Before IR 4 initializers are also listed as graph inputs; both name the same value.
    const value = scope.get(name) ?? new Value(name);
    value.constValue = tensor;
    value.graph = graph;
    graph.initializers.set(name, value);
    scope.set(name, value);
  }
  for (const sparse of (proto.sparseInitializer as Message[] | undefined) ?? []) {
    const name = ((sparse.values as Message | undefined)?.name as string | undefined) ?? '';
    if (!scope.has(name)) {
      const value = new Value(name);
      value.graph = graph;
      graph.sparseInitializers.push(value);
      scope.set(name, value);
    }
  }

  const nodeProtos = (proto.node as Message[] | undefined) ?? [];
  const nodes: Node[] = [];
  for (const nodeProto of nodeProtos) {
    const node = new Node({
      opType: (nodeProto.opType as string | undefined) ?? '',
      domain: (nodeProto.domain as string | undefined) ?? '',
      name: (nodeProto.name as string | undefined) ?? '',
      outputs: ((nodeProto.output as string[] | undefined) ?? []).map((name) => new Value(name)),
    });
    node.proto = nodeProto;
    if (has(nodeProto, 'docString')) node.docString = nodeProto.docString as string;
    graph.append(node);
    for (const output of node.outputs) if (output.name) scope.set(output.name, output);
    nodes.push(node);
  }
  nodes.forEach((node, i) => {
    const nodeProto = nodeProtos[i]!;
    for (const name of (nodeProto.input as string[] | undefined) ?? []) node.appendInput(name ? resolve(name) : undefined);
    for (const attributeProto of (nodeProto.attribute as Message[] | undefined) ?? []) {
      const attribute = decodeAttribute(attributeProto, lookup, node);
      node.attributes.set(attribute.name, attribute);
    }
  });

  for (const info of (proto.output as Message[] | undefined) ?? []) {
    const value = resolve((info.name as string | undefined) ?? '');
    applyValueInfo(value, info);
    graph.addOutput(value);
  }
  for (const info of (proto.valueInfo as Message[] | undefined) ?? []) {
    const value = resolve((info.name as string | undefined) ?? '');
    applyValueInfo(value, info);
    graph.valueInfos.push(value);
  }
  return graph;
}

/**
 * A TensorProto as a Tensor. Its dims must be whole numbers ≥ 0 whose product is a safe integer: a damaged file
 * can declare a negative or astronomical dim, and the error must name the tensor, not surface later as a
 * RangeError from a typed-array constructor.
 */
export function decodeTensor(proto: Message): Tensor {
  const dims = ((proto.dims as unknown[] | undefined) ?? []).map(int64ToNumber);
  const name = (proto.name as string | undefined) ?? '';
  const count = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0) || !Number.isSafeInteger(count)) {
    throw new QuantkitError('QK_TENSOR_DATA', `Tensor ${name || '(unnamed)'} declares dims [${dims.join(', ')}], which no tensor can have.`, {
      subject: name || undefined,
      hint: 'The model file is damaged or was written by a faulty exporter; re-export it.',
    });
  }
  return Tensor.fromProto(proto, (proto.dataType as number | undefined) ?? 0, dims, name);
}

function inferAttributeType(proto: Message): AttributeType {
  const single: [string, AttributeType][] = [
    ['f', AttributeType.FLOAT],
    ['i', AttributeType.INT],
    ['s', AttributeType.STRING],
    ['t', AttributeType.TENSOR],
    ['g', AttributeType.GRAPH],
    ['sparseTensor', AttributeType.SPARSE_TENSOR],
    ['tp', AttributeType.TYPE_PROTO],
  ];
  for (const [field, type] of single) if (has(proto, field)) return type;
  const repeated: [string, AttributeType][] = [
    ['floats', AttributeType.FLOATS],
    ['ints', AttributeType.INTS],
    ['strings', AttributeType.STRINGS],
    ['tensors', AttributeType.TENSORS],
    ['graphs', AttributeType.GRAPHS],
    ['sparseTensors', AttributeType.SPARSE_TENSORS],
    ['typeProtos', AttributeType.TYPE_PROTOS],
  ];
  for (const [field, type] of repeated) if (((proto[field] as unknown[] | undefined) ?? []).length > 0) return type;
  return AttributeType.UNDEFINED;
}

function decodeAttribute(proto: Message, lookup: Lookup, node: Node): Attribute {
  const type = ((proto.type as number | undefined) || inferAttributeType(proto)) as AttributeType;
  const list = <T>(field: string) => (proto[field] as T[] | undefined) ?? [];
  let value: AttributeValueMap[AttributeType];
  switch (type) {
    case AttributeType.FLOAT:
      value = (proto.f as number | undefined) ?? 0;
      break;
    case AttributeType.INT:
      value = int64(proto.i ?? 0);
      break;
    case AttributeType.STRING:
      value = (proto.s as Uint8Array | undefined) ?? new Uint8Array(0);
      break;
    case AttributeType.TENSOR:
      value = decodeTensor((proto.t as Message | undefined) ?? {});
      break;
    case AttributeType.GRAPH:
      value = decodeGraph((proto.g as Message | undefined) ?? {}, lookup, node);
      break;
    case AttributeType.FLOATS:
      value = list<number>('floats');
      break;
    case AttributeType.INTS:
      value = list<unknown>('ints').map(int64);
      break;
    case AttributeType.STRINGS:
      value = list<Uint8Array>('strings');
      break;
    case AttributeType.TENSORS:
      value = list<Message>('tensors').map(decodeTensor);
      break;
    case AttributeType.GRAPHS:
      value = list<Message>('graphs').map((g) => decodeGraph(g, lookup, node));
      break;
    case AttributeType.SPARSE_TENSOR:
      value = proto.sparseTensor;
      break;
    case AttributeType.SPARSE_TENSORS:
      value = list<unknown>('sparseTensors');
      break;
    case AttributeType.TYPE_PROTO:
      value = proto.tp as TypeInfo;
      break;
    case AttributeType.TYPE_PROTOS:
      value = list<TypeInfo>('typeProtos');
      break;
    default:
      value = undefined;
  }
  return new Attribute((proto.name as string | undefined) ?? '', type, value as never, {
    refAttrName: optionalString(proto, 'refAttrName'),
    docString: optionalString(proto, 'docString'),
    proto,
  });
}
