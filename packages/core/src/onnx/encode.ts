import { Attribute, AttributeType } from '../ir/attribute.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { GraphProto, has, ModelProto, TensorProto, toWireInt64, type Message } from './proto.js';

export interface EncodeOptions {
  /**
   * Replaces how a tensor is written (saveModel uses it to move data to an external file or to inline data
   * that was external). Return undefined for the default.
   */
  tensorProto?: (tensor: Tensor, name: string) => Message | undefined;
}

/** Encodes the IR to ONNX bytes. Fields quantkit does not model are written back as they were decoded. */
export function encodeModel(model: Model, options: EncodeOptions = {}): Uint8Array {
  const chunks = encodeModelChunks(model, options);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Initializers with at least this much raw data are written as their own chunk instead of being copied. */
const CHUNK_MIN_BYTES = 4096;

/**
 * Encodes the model as a list of byte chunks whose concatenation is the ONNX file. Large initializer data is not
 * copied: its chunk is the tensor's own bytes (often a view of the file it was loaded from), so saveModel can
 * hand the list to writev.
 */
export function encodeModelChunks(model: Model, options: EncodeOptions = {}): Uint8Array[] {
  const proto = modelToProto(model, options);
  const graph = proto.graph as Message;
  const initializers = (graph.initializer as Message[]) ?? [];
  const anyBig = initializers.some((t) => t.rawData instanceof Uint8Array && t.rawData.byteLength >= CHUNK_MIN_BYTES);
  if (!anyBig) return [ModelProto.encode(proto).finish()];
  // Repeated fields may be spread over the message as long as their own order holds, so the graph's other
  // fields come first and then every initializer in file order, the large ones as header + their own bytes.
  const graphChunks: Uint8Array[] = [GraphProto.encode({ ...graph, initializer: [] }).finish()];
  for (const tensor of initializers) {
    // A decoded proto without raw_data (external data, typed fields) reads the prototype's default, not bytes.
    const data = tensor.rawData instanceof Uint8Array ? tensor.rawData : undefined;
    if (!data || data.byteLength < CHUNK_MIN_BYTES) {
      const bytes = TensorProto.encode(tensor).finish();
      graphChunks.push(fieldHeader(5, bytes.byteLength), bytes);
      continue;
    }
    const rest = { ...tensor };
    delete rest.rawData;
    const head = TensorProto.encode(rest).finish();
    const dataTag = fieldHeader(9, data.byteLength);
    graphChunks.push(fieldHeader(5, head.byteLength + dataTag.byteLength + data.byteLength), head, dataTag, data);
  }
  const graphLength = graphChunks.reduce((n, c) => n + c.byteLength, 0);
  const modelHead = ModelProto.encode({ ...proto, graph: undefined }).finish();
  return [modelHead, fieldHeader(7, graphLength), ...graphChunks];
}

/** The tag and length prefix of a length-delimited protobuf field. */
function fieldHeader(field: number, length: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = (field << 3) | 2; ; ) {
    if (v < 0x80) {
      bytes.push(v);
      break;
    }
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  for (let v = length; ; ) {
    if (v < 0x80) {
      bytes.push(v);
      break;
    }
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  return Uint8Array.from(bytes);
}

/** @internal the ModelProto message for `model`, before serialisation. */
export function modelToProto(model: Model, options: EncodeOptions = {}): Message {
  const encoder = new Encoder(options);
  return encoder.model(model);
}

/**
 * Sets `field` when it was present in the decoded proto (keeping explicit defaults, so presence survives) or
 * when the value is not the default.
 */
function emit(out: Message, field: string, value: unknown, original: Message | undefined, fallback: unknown): void {
  if (value === undefined) {
    delete out[field];
    return;
  }
  if (has(original, field) || value !== fallback) out[field] = value;
  else delete out[field];
}

class Encoder {
  constructor(private readonly options: EncodeOptions) {}

  model(model: Model): Message {
    const original = model.proto;
    const out: Message = { ...original };
    emit(out, 'irVersion', model.irVersion, original, 0);
    emit(out, 'producerName', model.producerName, original, '');
    emit(out, 'producerVersion', model.producerVersion, original, '');
    emit(out, 'domain', model.domain, original, '');
    emit(out, 'modelVersion', model.modelVersion, original, 0);
    emit(out, 'docString', model.docString, original, '');
    out.opsetImport = this.opsets(model);
    out.metadataProps = this.metadata(model);
    out.functions = model.functions;
    out.graph = this.graph(model.graph);
    return out;
  }

  private opsets(model: Model): Message[] {
    const result: Message[] = [];
    const written = new Set<string>();
    for (const entry of (model.proto?.opsetImport as Message[] | undefined) ?? []) {
      const domain = (entry.domain as string | undefined) ?? '';
      const version = model.opsetImports.get(domain);
      if (version === undefined || written.has(domain)) continue;
      written.add(domain);
      result.push(Number(entry.version ?? 0) === version ? entry : { ...entry, version });
    }
    for (const [domain, version] of model.opsetImports) {
      if (!written.has(domain)) result.push({ domain, version });
    }
    return result;
  }

  private metadata(model: Model): Message[] {
    const original = (model.proto?.metadataProps as Message[] | undefined) ?? [];
    const same =
      original.length === model.metadata.size &&
      original.every((entry) => model.metadata.get((entry.key as string | undefined) ?? '') === (entry.value ?? ''));
    if (same) return original;
    return [...model.metadata].map(([key, value]) => ({ key, value }));
  }

  graph(graph: Graph): Message {
    const original = graph.proto;
    const out: Message = { ...original };
    emit(out, 'name', graph.name, original, '');
    emit(out, 'docString', graph.docString, original, '');
    out.node = graph.nodes().map((node) => this.node(node));
    out.initializer = [...graph.initializers.values()].map((value) => this.tensor(value.constValue!, value.name));
    out.input = graph.inputs.map((value) => this.valueInfo(value));
    out.output = graph.outputs.map((value) => this.valueInfo(value));
    out.valueInfo = graph.valueInfos.map((value) => this.valueInfo(value));
    return out;
  }

  private valueInfo(value: Value): Message {
    const out: Message = { name: value.name };
    if (value.type !== undefined) out.type = value.type;
    if (value.docString !== undefined) out.docString = value.docString;
    if (value.metadataProps !== undefined) out.metadataProps = value.metadataProps;
    return out;
  }

  private node(node: Node): Message {
    const original = node.proto;
    const out: Message = { ...original };
    out.input = node.inputs.map((value) => value?.name ?? '');
    out.output = node.outputs.map((value) => value.name);
    emit(out, 'name', node.name, original, '');
    emit(out, 'opType', node.opType, original, '');
    emit(out, 'domain', node.domain, original, '');
    emit(out, 'docString', node.docString, original, '');
    out.attribute = [...node.attributes.values()].map((attribute) => this.attribute(attribute));
    return out;
  }

  private attribute(attribute: Attribute): Message {
    const { type, value } = attribute;
    const original = attribute.proto;
    if (original) {
      // Only the kinds that hold IR objects can have changed since decoding; the rest go back verbatim.
      switch (type) {
        case AttributeType.TENSOR:
          return { ...original, t: this.tensor(value as Tensor, (value as Tensor).name) };
        case AttributeType.GRAPH:
          return { ...original, g: this.graph(value as Graph) };
        case AttributeType.TENSORS:
          return { ...original, tensors: (value as Tensor[]).map((t) => this.tensor(t, t.name)) };
        case AttributeType.GRAPHS:
          return { ...original, graphs: (value as Graph[]).map((g) => this.graph(g)) };
        default:
          return original;
      }
    }
    const out: Message = { name: attribute.name, type };
    if (attribute.refAttrName !== undefined) out.refAttrName = attribute.refAttrName;
    if (attribute.docString !== undefined) out.docString = attribute.docString;
    switch (type) {
      case AttributeType.FLOAT:
        out.f = value;
        break;
      case AttributeType.INT:
        out.i = toWireInt64(value as number | bigint);
        break;
      case AttributeType.STRING:
        out.s = value;
        break;
      case AttributeType.TENSOR:
        out.t = this.tensor(value as Tensor, (value as Tensor).name);
        break;
      case AttributeType.GRAPH:
        out.g = this.graph(value as Graph);
        break;
      case AttributeType.FLOATS:
        out.floats = value;
        break;
      case AttributeType.INTS:
        out.ints = (value as (number | bigint)[]).map(toWireInt64);
        break;
      case AttributeType.STRINGS:
        out.strings = value;
        break;
      case AttributeType.TENSORS:
        out.tensors = (value as Tensor[]).map((t) => this.tensor(t, t.name));
        break;
      case AttributeType.GRAPHS:
        out.graphs = (value as Graph[]).map((g) => this.graph(g));
        break;
      case AttributeType.SPARSE_TENSOR:
        out.sparseTensor = value;
        break;
      case AttributeType.SPARSE_TENSORS:
        out.sparseTensors = value;
        break;
      case AttributeType.TYPE_PROTO:
        out.tp = value;
        break;
      case AttributeType.TYPE_PROTOS:
        out.typeProtos = value;
        break;
    }
    return out;
  }

  tensor(tensor: Tensor, name: string): Message {
    const replaced = this.options.tensorProto?.(tensor, name);
    if (replaced) return replaced;
    const original = tensor.proto;
    if (original) return original.name === name || (!has(original, 'name') && name === '') ? original : { ...original, name };
    const out: Message = { dims: [...tensor.dims], dataType: tensor.dtype, rawData: tensor.rawBytes() };
    if (name) out.name = name;
    return out;
  }
}
