import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { Value } from '../ir/value.js';
import { verifyGraph } from '../ir/verify.js';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import { ModelProto } from './proto.js';
import { errorOf } from '../testing/error-of.js';

/** Encodes a hand-written ModelProto (plain object, protobufjs field names). */
const raw = (message: Record<string, unknown>) => ModelProto.encode(message).finish();

/** x → MatMul(w) → Relu → y, with a 2×3 float weight. */
function matmulModel() {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, ['N', 2]);
  const w = b.initializer('w', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const [h] = b.node('MatMul', [x, w], { name: 'mm' });
  const [y] = b.node('Relu', [h!], { name: 'relu' });
  b.output(y!, DataType.FLOAT, ['N', 3]);
  return b.model();
}

/** cond, x → If(then: Neg(x), else: Abs(x)) → y; both branches read the outer value `x`. */
function ifModel() {
  const b = new GraphBuilder('main');
  const cond = b.input('cond', DataType.BOOL, []);
  const x0 = b.input('x0', DataType.FLOAT, [2]);
  const [x] = b.node('Relu', [x0], { name: 'relu', outputs: ['x'] });
  const branch = (name: string, opType: string) => {
    const graph = new Graph(name);
    const out = new Value(`${name}_out`);
    graph.append(new Node({ opType, name: `${name}-${opType}`, inputs: [x!], outputs: [out] }));
    graph.addOutput(out);
    return graph;
  };
  const [y] = b.node('If', [cond], { name: 'if', attributes: { then_branch: branch('then', 'Neg'), else_branch: branch('else', 'Abs') } });
  b.output(y!);
  return b.model();
}

describe('decodeModel errors', () => {
  it('empty bytes → QK_FILE_EMPTY naming the file', () => {
    const error = errorOf(() => decodeModel(new Uint8Array(0), { file: 'model.onnx' }));
    expect(error.code).toBe('QK_FILE_EMPTY');
    expect(error.message).toContain('model.onnx');
    expect(error.subject).toBe('model.onnx');
  });

  it('truncated bytes → QK_MODEL_DECODE keeping the protobuf error as cause', () => {
    const bytes = encodeModel(matmulModel());
    const error = errorOf(() => decodeModel(bytes.subarray(0, Math.floor(bytes.length / 2)), { file: 'cut.onnx' }));
    expect(error.code).toBe('QK_MODEL_DECODE');
    expect(error.message).toContain('cut.onnx');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('an initializer with a negative or astronomical dim → QK_TENSOR_DATA naming it (the fuzzer\'s case 2188)', () => {
    for (const dims of [[-3, 2], [2 ** 40, 2 ** 40]]) {
      const bytes = raw({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        graph: { name: 'g', initializer: [{ name: 'w', dataType: DataType.FLOAT, dims, rawData: new Uint8Array(24) }] },
      });
      const error = errorOf(() => decodeModel(bytes, { file: 'bad.onnx' }));
      expect(error.code, dims.join('x')).toBe('QK_TENSOR_DATA');
      expect(error.message).toContain('bad.onnx: Tensor w declares dims');
      expect(error.subject).toBe('w');
    }
  });

  it('a valid protobuf without a graph → QK_MODEL_NOT_ONNX', () => {
    const error = errorOf(() => decodeModel(raw({ irVersion: 8, producerName: 'not-a-model' })));
    expect(error.code).toBe('QK_MODEL_NOT_ONNX');
    expect(error.message).toContain('the model bytes');
  });
});

describe('decodeModel builds the IR', () => {
  it('decodes inputs, initializers, nodes, outputs and def-use', () => {
    const model = decodeModel(encodeModel(matmulModel()));
    const graph = model.graph;
    expect(graph.inputs.map((v) => v.name)).toEqual(['x']);
    expect([...graph.initializers.keys()]).toEqual(['w']);
    expect(graph.nodes().map((n) => `${n.name}:${n.opType}`)).toEqual(['mm:MatMul', 'relu:Relu']);
    const [mm, relu] = graph.nodes();
    expect(mm!.input(0)).toBe(graph.inputs[0]);
    expect(mm!.input(1)).toBe(graph.initializers.get('w'));
    expect(relu!.input(0)).toBe(mm!.output);
    expect(mm!.output.uses()).toEqual([{ node: relu, index: 0 }]);
    expect(graph.outputs[0]).toBe(relu!.output);
    expect(graph.initializers.get('w')!.constValue!.toArray()).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
    expect(model.opsetImports.get('')).toBe(21);
    expect(model.irVersion).toBe(10);
    expect(verifyGraph(graph)).toEqual([]);
  });

  it('tensors decoded from raw_data share the decoded buffer (zero-copy)', () => {
    const bytes = encodeModel(matmulModel());
    const tensor = decodeModel(bytes).graph.initializers.get('w')!.constValue!;
    const data = tensor.rawBytes();
    expect(data.buffer).toBe(bytes.buffer);
    expect(data.byteOffset).toBeGreaterThan(bytes.byteOffset);
    expect(new Float32Array(new Uint8Array(data).buffer)).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
  });

  it('decodes initializers stored in float_data, int32_data, int64_data and double_data', () => {
    const bytes = raw({
      graph: {
        initializer: [
          { name: 'f', dims: [2], dataType: DataType.FLOAT, floatData: [0.5, -2] },
          { name: 'i8', dims: [2, 1], dataType: DataType.INT8, int32Data: [-128, 127] },
          { name: 'h', dims: [1], dataType: DataType.FLOAT16, int32Data: [0x3c00] },
          { name: 'i64', dims: [3], dataType: DataType.INT64, int64Data: ['9223372036854775807', -1, 5] },
          { name: 'd', dims: [], dataType: DataType.DOUBLE, doubleData: [0.1] },
        ],
      },
    });
    const tensors = decodeModel(bytes).graph.initializers;
    const get = (name: string) => tensors.get(name)!.constValue!;
    expect(get('f').toArray()).toEqual(new Float32Array([0.5, -2]));
    expect(get('i8').toArray()).toEqual(new Int8Array([-128, 127]));
    expect(get('i8').dims).toEqual([2, 1]);
    expect([...get('h').toFloat32()]).toEqual([1]);
    expect([...(get('i64').toArray() as BigInt64Array)]).toEqual([9223372036854775807n, -1n, 5n]);
    expect(get('d').toArray()).toEqual(new Float64Array([0.1]));
    expect(get('f').rawBytes()).toEqual(new Uint8Array(new Float32Array([0.5, -2]).buffer));
  });

  it('an omitted optional input decodes to undefined and an unknown name to a value with no producer', () => {
    const bytes = raw({
      irVersion: 10,
      opsetImport: [{ domain: '', version: 21 }],
      graph: {
        input: [{ name: 'x' }],
        node: [{ opType: 'Clip', name: 'clip', input: ['x', '', 'ghost'], output: ['y'] }],
        output: [{ name: 'y' }],
      },
    });
    const graph = decodeModel(bytes).graph;
    const clip = graph.nodes()[0]!;
    expect(clip.inputs[1]).toBeUndefined();
    expect(clip.inputs[2]!.name).toBe('ghost');
    expect(clip.inputs[2]!.producer()).toBeUndefined();
    expect(verifyGraph(graph)).toEqual([expect.stringContaining('ghost, which nothing defines')]);
  });

  it('an initializer also listed as a graph input (IR < 4) is one value', () => {
    const bytes = raw({
      irVersion: 3,
      graph: {
        input: [{ name: 'x' }, { name: 'w' }],
        initializer: [{ name: 'w', dims: [1], dataType: DataType.FLOAT, floatData: [2] }],
        node: [{ opType: 'Mul', input: ['x', 'w'], output: ['y'] }],
        output: [{ name: 'y' }],
      },
    });
    const graph = decodeModel(bytes).graph;
    expect(graph.inputs[1]).toBe(graph.initializers.get('w'));
    expect(graph.inputs[1]!.isInitializer()).toBe(true);
    expect(graph.inputs[1]!.constValue!.toArray()).toEqual(new Float32Array([2]));
    expect(verifyGraph(graph)).toEqual([]);
  });

  it('int64 attributes keep INT64_MAX as a bigint and -1 as a number', () => {
    const bytes = raw({
      graph: {
        node: [
          {
            opType: 'Slice',
            attribute: [
              { name: 'ends', type: 2, i: '9223372036854775807' },
              { name: 'axis', type: 2, i: -1 },
              { name: 'steps', type: 7, ints: ['9223372036854775807', -1, '-9223372036854775808'] },
            ],
          },
        ],
      },
    });
    const node = decodeModel(bytes).graph.nodes()[0]!;
    expect(node.attribute('ends')!.value).toBe(9223372036854775807n);
    expect(node.attribute('axis')!.value).toBe(-1);
    expect(node.attribute('steps')!.value).toEqual([9223372036854775807n, -1, -9223372036854775808n]);
  });

  it('infers the attribute type when the file leaves it out', () => {
    const bytes = raw({ graph: { node: [{ opType: 'X', attribute: [{ name: 'f', f: 0.5 }, { name: 'is', ints: [1, 2] }] }] } });
    const node = decodeModel(bytes).graph.nodes()[0]!;
    expect(node.attribute('f')).toMatchObject({ type: 1, value: 0.5 });
    expect(node.attribute('is')).toMatchObject({ type: 7, value: [1, 2] });
  });
});

describe('decodeModel subgraph scoping', () => {
  it("records the subgraph nodes among the outer value's uses", () => {
    const model = decodeModel(encodeModel(ifModel()));
    const x = model.graph.valuesByName().get('x')!;
    const users = x.uses().map(({ node }) => node);
    expect(users.map((n) => n.name).sort()).toEqual(['else-Abs', 'then-Neg']);
    const ifNode = model.graph.nodes().find((n) => n.opType === 'If')!;
    const [thenBranch, elseBranch] = ifNode.subgraphs();
    expect(thenBranch!.nodes()[0]!.input(0)).toBe(x);
    expect(elseBranch!.nodes()[0]!.input(0)).toBe(x);
    expect(thenBranch!.parentNode).toBe(ifNode);
    expect(verifyGraph(model.graph)).toEqual([]);
  });

  it('renaming the outer value renames its references in the subgraphs on re-encode', () => {
    const model = decodeModel(encodeModel(ifModel()));
    model.graph.valuesByName().get('x')!.name = 'x2';
    const again = decodeModel(encodeModel(model));
    const x2 = again.graph.valuesByName().get('x2')!;
    expect(again.graph.valuesByName().has('x')).toBe(false);
    const ifNode = again.graph.nodes().find((n) => n.opType === 'If')!;
    for (const branch of ifNode.subgraphs()) {
      expect(branch.nodes()[0]!.input(0)!.name).toBe('x2');
      expect(branch.nodes()[0]!.input(0)).toBe(x2);
    }
  });

  it('a subgraph value shadows nothing outside: sibling subgraphs do not see each other', () => {
    const bytes = raw({
      graph: {
        input: [{ name: 'c' }],
        node: [
          {
            opType: 'If',
            input: ['c'],
            output: ['y'],
            attribute: [
              { name: 'then_branch', type: 5, g: { node: [{ opType: 'Constant', output: ['t'] }], output: [{ name: 't' }] } },
              { name: 'else_branch', type: 5, g: { node: [{ opType: 'Identity', input: ['t'], output: ['e'] }], output: [{ name: 'e' }] } },
            ],
          },
        ],
        output: [{ name: 'y' }],
      },
    });
    const graph = decodeModel(bytes).graph;
    const [thenBranch, elseBranch] = graph.nodes()[0]!.subgraphs();
    expect(elseBranch!.nodes()[0]!.input(0)).not.toBe(thenBranch!.nodes()[0]!.output);
    expect(verifyGraph(graph)).toEqual([expect.stringContaining('reads t, which nothing defines')]);
  });
});

describe('decodeModel keeps what it does not model', () => {
  it('keeps unknown op domains and every opset import in file order', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x');
    const [y] = b.node('FancyOp', [x], { name: 'fancy', domain: 'com.acme.ops', attributes: { level: 3 } });
    b.output(y!);
    const model = decodeModel(encodeModel(b.model({ '': 17, 'com.acme.ops': 2, 'ai.onnx.ml': 3 })));
    expect([...model.opsetImports]).toEqual([
      ['', 17],
      ['com.acme.ops', 2],
      ['ai.onnx.ml', 3],
    ]);
    expect(model.opset).toBe(17);
    expect(model.graph.nodes()[0]).toMatchObject({ opType: 'FancyOp', domain: 'com.acme.ops' });
  });

  it('keeps model metadata and the doc strings of model, graph, node and value', () => {
    const bytes = raw({
      irVersion: 9,
      producerName: 'pytorch',
      producerVersion: '2.4',
      domain: 'org.example',
      modelVersion: 7,
      docString: 'model doc',
      metadataProps: [
        { key: 'author', value: 'me' },
        { key: 'license', value: 'MIT' },
      ],
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'main',
        docString: 'graph doc',
        input: [{ name: 'x', docString: 'input doc' }],
        node: [{ opType: 'Relu', name: 'r', input: ['x'], output: ['y'], docString: 'node doc' }],
        output: [{ name: 'y' }],
      },
    });
    const model = decodeModel(bytes);
    expect(model).toMatchObject({
      irVersion: 9,
      producerName: 'pytorch',
      producerVersion: '2.4',
      domain: 'org.example',
      modelVersion: 7,
      docString: 'model doc',
    });
    expect([...model.metadata]).toEqual([
      ['author', 'me'],
      ['license', 'MIT'],
    ]);
    expect(model.graph.docString).toBe('graph doc');
    expect(model.graph.inputs[0]!.docString).toBe('input doc');
    expect(model.graph.nodes()[0]!.docString).toBe('node doc');
  });

  it('leaves fields the file does not have undefined, apart from explicit empty strings', () => {
    const bytes = raw({
      docString: '',
      graph: { node: [{ opType: 'Relu', attribute: [{ name: 'a', type: 2, i: 1 }, { name: 'r', type: 2, refAttrName: 'alpha' }] }] },
    });
    const model = decodeModel(bytes);
    expect(model.docString).toBe('');
    expect([model.producerName, model.producerVersion, model.domain, model.modelVersion]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const node = model.graph.nodes()[0]!;
    expect([node.docString, model.graph.docString]).toEqual([undefined, undefined]);
    expect(node.attribute('a')!.refAttrName).toBeUndefined();
    expect(node.attribute('a')!.docString).toBeUndefined();
    expect(node.attribute('r')!.refAttrName).toBe('alpha');
  });

  it('keeps functions, value_info and sparse initializers through a round trip', () => {
    const bytes = raw({
      irVersion: 10,
      opsetImport: [{ domain: '', version: 21 }, { domain: 'local', version: 1 }],
      functions: [{ name: 'Double', domain: 'local', input: ['a'], output: ['b'], node: [{ opType: 'Add', input: ['a', 'a'], output: ['b'] }] }],
      graph: {
        input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }] } } } }],
        sparseInitializer: [
          { values: { name: 's', dims: [1], dataType: 1, floatData: [5] }, indices: { dims: [1], dataType: 7, int64Data: [0] }, dims: [4] },
        ],
        node: [
          { opType: 'Double', domain: 'local', input: ['x'], output: ['h'] },
          { opType: 'Add', input: ['h', 's'], output: ['y'] },
        ],
        output: [{ name: 'y' }],
        valueInfo: [{ name: 'h', type: { tensorType: { elemType: 1 } } }],
      },
    });
    const model = decodeModel(bytes);
    expect(model.functions).toHaveLength(1);
    expect(model.graph.valueInfos.map((v) => v.name)).toEqual(['h']);
    expect(model.graph.sparseInitializers.map((v) => v.name)).toEqual(['s']);
    expect(model.graph.nodes()[1]!.input(1)).toBe(model.graph.sparseInitializers[0]);
    expect(encodeModel(model)).toEqual(bytes);
  });
});
