import { describe, expect, it } from 'vitest';
import { Attribute, AttributeType } from '../ir/attribute.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { decodeModel } from './decode.js';
import { encodeModel, encodeModelChunks, modelToProto } from './encode.js';
import { ModelProto, type Message } from './proto.js';

const raw = (message: Record<string, unknown>) => ModelProto.encode(message).finish();
const parse = (bytes: Uint8Array) => ModelProto.toObject(ModelProto.decode(bytes), { longs: String, bytes: Array }) as Message;

/** x → Conv(w, b) → Relu → output, plus a Slice with int64 attributes. */
function convModel() {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, ['N', 2, 4, 4]);
  const w = b.initializer('w', new Float32Array(36).map((_, i) => i / 10), [2, 2, 3, 3]);
  const bias = b.initializer('b', new Float32Array([0.5, -0.5]), [2]);
  const [c] = b.node('Conv', [x, w, bias], { name: 'conv', attributes: { pads: [1, 1, 1, 1], group: 1 } });
  const [r] = b.node('Relu', [c!], { name: 'relu' });
  const starts = b.initializer('starts', new BigInt64Array([0n]), [1]);
  const ends = b.initializer('ends', new BigInt64Array([9223372036854775807n]), [1]);
  const [s] = b.node('Slice', [r!, starts, ends], { name: 'slice' });
  b.output(s!, DataType.FLOAT);
  return b.model({ '': 21 });
}

/** One node carrying every attribute kind. */
function everyAttributeModel() {
  const body = new GraphBuilder('body');
  const bx = body.input('bx', DataType.FLOAT, [1]);
  const [by] = body.node('Neg', [bx], { name: 'body-neg' });
  body.output(by!);
  const other = new Graph('other');
  const sparse = {
    values: { name: 'sv', dims: [2], dataType: DataType.FLOAT, floatData: [1.5, 2.5] },
    indices: { dims: [2], dataType: DataType.INT64, int64Data: [0, 3] },
    dims: [4],
  };
  const attributes: Attribute[] = [
    Attribute.float('float', 0.1),
    Attribute.int('int', -1),
    Attribute.int('int_max', 9223372036854775807n),
    Attribute.string('string', 'héllo'),
    Attribute.tensor('tensor', Tensor.fromArray(new Int8Array([-1, 2, 3]), [3], { name: 't' })),
    Attribute.graph('graph', body.graph),
    Attribute.floats('floats', [0.25, -3]),
    Attribute.ints('ints', [1, -1, 9223372036854775807n]),
    Attribute.strings('strings', ['a', 'bc']),
    new Attribute('tensors', AttributeType.TENSORS, [
      Tensor.fromArray(new Float32Array([1]), [1], { name: 't0' }),
      Tensor.fromArray(new Int32Array([7, 8]), [2], { name: 't1' }),
    ]),
    new Attribute('graphs', AttributeType.GRAPHS, [body.graph, other]),
    new Attribute('type_proto', AttributeType.TYPE_PROTO, tensorType(DataType.FLOAT16, [3, 'K'])),
    new Attribute('sparse_tensor', AttributeType.SPARSE_TENSOR, sparse),
  ];
  const b = new GraphBuilder('main');
  const x = b.input('x', DataType.FLOAT, [1]);
  const node = new Node({ opType: 'Everything', domain: 'com.test', name: 'all', inputs: [x], outputs: [new Value('y')], attributes });
  b.graph.append(node);
  b.output(node.output);
  return b.model({ '': 21, 'com.test': 1 });
}

describe('encode → decode → encode', () => {
  it('gives identical bytes for a built model', () => {
    const first = encodeModel(convModel());
    const second = encodeModel(decodeModel(first));
    expect(second).toEqual(first);
    expect(encodeModel(decodeModel(second))).toEqual(first);
  });

  it('gives identical bytes for a model with subgraphs that read outer values', () => {
    const b = new GraphBuilder('main');
    const cond = b.input('cond', DataType.BOOL, []);
    const x = b.input('x', DataType.FLOAT, [2]);
    const thenBranch = new Graph('then');
    const t = new Value('t');
    thenBranch.append(new Node({ opType: 'Neg', name: 'neg', inputs: [x], outputs: [t] }));
    thenBranch.addOutput(t);
    const [y] = b.node('If', [cond], { name: 'if', attributes: { then_branch: thenBranch, else_branch: thenBranch } });
    b.output(y!);
    const first = encodeModel(b.model());
    expect(encodeModel(decodeModel(first))).toEqual(first);
  });

  it('round-trips every attribute kind', () => {
    const first = encodeModel(everyAttributeModel());
    const model = decodeModel(first);
    expect(encodeModel(model)).toEqual(first);

    const attributes = model.graph.nodes()[0]!.attributes;
    const kinds = Object.fromEntries([...attributes.values()].map((a) => [a.name, a.type]));
    expect(kinds).toEqual({
      float: AttributeType.FLOAT,
      int: AttributeType.INT,
      int_max: AttributeType.INT,
      string: AttributeType.STRING,
      tensor: AttributeType.TENSOR,
      graph: AttributeType.GRAPH,
      floats: AttributeType.FLOATS,
      ints: AttributeType.INTS,
      strings: AttributeType.STRINGS,
      tensors: AttributeType.TENSORS,
      graphs: AttributeType.GRAPHS,
      type_proto: AttributeType.TYPE_PROTO,
      sparse_tensor: AttributeType.SPARSE_TENSOR,
    });
    const get = (name: string) => attributes.get(name)!;
    expect(get('float').value).toBe(Math.fround(0.1));
    expect(get('int').value).toBe(-1);
    expect(get('int_max').value).toBe(9223372036854775807n);
    expect(get('string').asString()).toBe('héllo');
    expect(get('tensor').value).toBeInstanceOf(Tensor);
    expect([...(get('tensor').value as Tensor).toArray()]).toEqual([-1, 2, 3]);
    expect((get('graph').value as Graph).nodes()[0]!.name).toBe('body-neg');
    expect(get('floats').value).toEqual([0.25, -3]);
    expect(get('ints').value).toEqual([1, -1, 9223372036854775807n]);
    expect((get('strings').value as Uint8Array[]).map((s) => new TextDecoder().decode(s))).toEqual(['a', 'bc']);
    expect((get('tensors').value as Tensor[]).map((t) => [...t.toArray()])).toEqual([[1], [7, 8]]);
    expect((get('graphs').value as Graph[]).map((g) => g.name)).toEqual(['body', 'other']);
    expect(get('type_proto').value).toMatchObject({ tensorType: { elemType: DataType.FLOAT16 } });
    const sparse = get('sparse_tensor').value as Message;
    expect((sparse.values as Message).floatData).toEqual([1.5, 2.5]);
  });

  it('keeps INT64_MAX and -1 in INT and INTS attributes on the wire', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x');
    const [y] = b.node('Slice', [x], { name: 's', attributes: { ends: 9223372036854775807n, axis: -1, axes: [-1, 0] } });
    b.output(y!);
    const node = parse(encodeModel(b.model())).graph as Message;
    const attributes = ((node.node as Message[])[0]!.attribute as Message[]).map((a) => [a.name, a.i ?? a.ints]);
    expect(attributes).toEqual([
      ['ends', '9223372036854775807'],
      ['axis', '-1'],
      ['axes', ['-1', '0']],
    ]);
    const decoded = decodeModel(encodeModel(b.model())).graph.nodes()[0]!;
    expect(decoded.attribute('ends')!.value).toBe(9223372036854775807n);
    expect(decoded.attribute('axis')!.value).toBe(-1);
    expect(decoded.attribute('axes')!.value).toEqual([-1, 0]);
  });
});

describe('field presence survives a round trip', () => {
  const withDomain = (node: Message) =>
    raw({
      irVersion: 10,
      opsetImport: [{ domain: '', version: 21 }],
      graph: { input: [{ name: 'x' }], node: [node], output: [{ name: 'y' }] },
    });

  it("a NodeProto.domain written explicitly as '' stays present", () => {
    const bytes = withDomain({ opType: 'Relu', domain: '', input: ['x'], output: ['y'] });
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });

  it('an absent NodeProto.domain stays absent', () => {
    const bytes = withDomain({ opType: 'Relu', input: ['x'], output: ['y'] });
    const out = encodeModel(decodeModel(bytes));
    expect(out).toEqual(bytes);
    expect(out).not.toEqual(withDomain({ opType: 'Relu', domain: '', input: ['x'], output: ['y'] }));
  });

  it('explicit empty name and doc string on model, graph and node stay present', () => {
    const bytes = raw({
      irVersion: 10,
      producerName: '',
      docString: '',
      graph: { name: '', docString: '', node: [{ opType: 'Relu', name: '', docString: '', input: ['x'], output: ['y'] }] },
    });
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });

  it('unmodelled NodeProto fields (overload, metadata_props) are written back', () => {
    const bytes = withDomain({
      opType: 'Relu',
      input: ['x'],
      output: ['y'],
      overload: 'fast',
      metadataProps: [{ key: 'origin', value: 'layer1' }],
    });
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });
});

describe('edits show up in the encoded model', () => {
  it('a renamed initializer renames its tensor and every reference', () => {
    const model = decodeModel(encodeModel(convModel()));
    model.graph.initializers.get('w')!.name = 'weight';
    const out = decodeModel(encodeModel(model));
    const conv = out.graph.nodes()[0]!;
    expect(conv.input(1)!.name).toBe('weight');
    expect(conv.input(1)!.constValue!.name).toBe('weight');
    expect(out.graph.initializers.has('weight')).toBe(true);
  });

  it('a new attribute value, op type and domain are written', () => {
    const model = decodeModel(encodeModel(convModel()));
    const conv = model.graph.nodes()[0]!;
    conv.setAttribute('pads', [0, 0, 0, 0]);
    conv.opType = 'QConv';
    conv.domain = 'quantkit';
    const out = decodeModel(encodeModel(model)).graph.nodes()[0]!;
    expect(out.attribute('pads')!.asNumbers()).toEqual([0, 0, 0, 0]);
    expect(out.attribute('group')!.asNumber()).toBe(1);
    expect(out).toMatchObject({ opType: 'QConv', domain: 'quantkit' });
  });

  it('removed nodes, changed opsets and metadata are written', () => {
    const model = decodeModel(encodeModel(convModel()));
    const [conv, relu, slice] = model.graph.nodes();
    slice!.setInput(0, conv!.output);
    model.graph.remove(relu!);
    model.opsetImports.set('', 19);
    model.opsetImports.set('quantkit', 1);
    model.metadata.set('quantized', 'yes');
    const out = decodeModel(encodeModel(model));
    expect(out.graph.nodes().map((n) => n.name)).toEqual(['conv', 'slice']);
    expect([...out.opsetImports]).toEqual([
      ['', 19],
      ['quantkit', 1],
    ]);
    expect(out.metadata.get('quantized')).toBe('yes');
  });

  it('a dropped opset import is not written', () => {
    const model = decodeModel(encodeModel(convModel()));
    model.opsetImports.set('old', 1);
    const again = decodeModel(encodeModel(model));
    again.opsetImports.delete('old');
    expect([...decodeModel(encodeModel(again)).opsetImports.keys()]).toEqual(['']);
  });

  it('the tensorProto option replaces how tensors are written', () => {
    const model = convModel();
    const seen: string[] = [];
    const bytes = encodeModel(model, {
      tensorProto: (tensor, name) => {
        seen.push(name);
        return name === 'b' ? { name, dims: [...tensor.dims], dataType: tensor.dtype, floatData: [9, 9] } : undefined;
      },
    });
    expect(seen).toEqual(['w', 'b', 'starts', 'ends']);
    const out = decodeModel(bytes).graph.initializers;
    expect([...out.get('b')!.constValue!.toArray()]).toEqual([9, 9]);
    expect(out.get('w')!.constValue!.toArray()).toEqual(model.graph.initializers.get('w')!.constValue!.toArray());
  });
});

describe('encodeModelChunks', () => {
  /** A model with a 40 000-byte weight (chunked), a 16-byte one (inline) and a subgraph. */
  function bigModel() {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [1, 100]);
    const w = b.initializer('w', new Float32Array(10_000).map((_, i) => Math.sin(i)), [100, 100]);
    const small = b.initializer('small', new Float32Array([1, 2, 3, 4]), [4]);
    const [h] = b.node('MatMul', [x, w], { name: 'mm' });
    const [y] = b.node('Add', [h!, small], { name: 'add' });
    b.output(y!);
    const m = b.model();
    m.metadata.set('k', 'v');
    m.docString = 'big';
    return m;
  }
  const concat = (chunks: Uint8Array[]) => Uint8Array.from(chunks.flatMap((c) => [...c]));

  it('a small model is one chunk equal to the canonical encoding', () => {
    const model = convModel();
    const chunks = encodeModelChunks(model);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toEqual(ModelProto.encode(modelToProto(model)).finish());
  });

  it('large initializer data is its own chunk: the tensor bytes themselves, not a copy', () => {
    const model = bigModel();
    const data = model.graph.initializers.get('w')!.constValue!.rawBytes();
    const chunks = encodeModelChunks(model);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.filter((c) => c === data)).toHaveLength(1);
  });

  it('the chunks concatenate to a model equal to the canonical encoding', () => {
    const model = bigModel();
    const chunked = concat(encodeModelChunks(model));
    const canonical = ModelProto.encode(modelToProto(model)).finish();
    const asObject = (bytes: Uint8Array) => ModelProto.toObject(ModelProto.decode(bytes), { longs: String, bytes: Array });
    expect(asObject(chunked)).toEqual(asObject(canonical));
    expect(encodeModel(model)).toEqual(chunked);
  });

  it('a chunked model decodes to the same IR and re-encodes to the same bytes', () => {
    const first = encodeModel(bigModel());
    const decoded = decodeModel(first);
    expect([...decoded.graph.initializers.keys()]).toEqual(['w', 'small']);
    expect(decoded.graph.initializers.get('w')!.constValue!.toArray()).toEqual(bigModel().graph.initializers.get('w')!.constValue!.toArray());
    expect(decoded.graph.nodes().map((n) => n.name)).toEqual(['mm', 'add']);
    expect(decoded.docString).toBe('big');
    expect(encodeModel(decoded)).toEqual(first);
  });
});

describe('encodeModelChunks with float_data beside large raw_data (found by tools/fuzz)', () => {
  it('writes a float_data initializer inline next to a large raw_data one, and the bytes decode back', () => {
    const big = new Float32Array(2048).map((_, i) => i / 7);
    const bytes = ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        initializer: [
          { name: 'small', dims: [2], dataType: DataType.FLOAT, floatData: [0.5, -2] },
          { name: 'big', dims: [2048], dataType: DataType.FLOAT, rawData: new Uint8Array(big.buffer) },
        ],
      },
    }).finish();
    const model = decodeModel(bytes);
    const again = decodeModel(encodeModel(model));
    expect(again.graph.initializers.get('small')!.constValue!.toArray()).toEqual(new Float32Array([0.5, -2]));
    expect(again.graph.initializers.get('big')!.constValue!.toArray()).toEqual(big);
  });
});
