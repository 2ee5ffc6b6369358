// The fuzzer's mutations. Each makes one case from real fixture files: the files it writes (name → bytes) and
// the CLI verb that reads them. `kind` names the mutation in the summary; a case can be replayed from its seed.
import fs from 'node:fs';
import path from 'node:path';
import { DataType, Tensor, Value, decodeModel, encodeModel, encodeNpy, encodeNpz, parseNpy, saveModel, tensorType } from '@quantkit/core';
import { encodeVarint, splice, walkFields } from './protobuf.mjs';

const HUGE = [2 ** 31, 2 ** 32 + 1, 1e12, 2 ** 53 - 1, 2 ** 63, 0xffffffffff];

// ---- bytes ---------------------------------------------------------------------------------------------------

function flipBytes(rng, bytes) {
  const out = Uint8Array.from(bytes);
  const count = 1 + rng.int(16);
  for (let i = 0; i < count; i++) out[rng.int(out.length)] = rng.int(256);
  return out;
}

function truncate(rng, bytes) {
  return bytes.slice(0, rng.int(bytes.length));
}

function corruptVarint(rng, bytes) {
  const fields = walkFields(bytes) ?? [];
  const varints = fields.filter((f) => f.wireType === 0);
  if (varints.length === 0) return flipBytes(rng, bytes);
  const f = rng.pick(varints);
  const value = rng.bool() ? rng.pick(HUGE) : rng.pick([0, 1, 2, 127, 128, 255, 65535]);
  return splice(bytes, f.valueStart, f.end, encodeVarint(value));
}

function corruptLength(rng, bytes) {
  const fields = (walkFields(bytes) ?? []).filter((f) => f.wireType === 2);
  if (fields.length === 0) return truncate(rng, bytes);
  const f = rng.pick(fields);
  const length = f.end - f.valueStart;
  const value = rng.pick([0, length + 1, length * 2 + 7, 2 ** 31, Math.max(0, length - 1)]);
  return splice(bytes, f.lengthStart, f.valueStart, encodeVarint(value));
}

function duplicateField(rng, bytes) {
  const fields = walkFields(bytes) ?? [];
  if (fields.length === 0) return flipBytes(rng, bytes);
  const f = rng.pick(fields);
  const copy = bytes.slice(f.start, f.end);
  return splice(bytes, f.end, f.end, copy);
}

function dropField(rng, bytes) {
  const fields = walkFields(bytes) ?? [];
  if (fields.length === 0) return truncate(rng, bytes);
  const f = rng.pick(fields);
  return splice(bytes, f.start, f.end, new Uint8Array(0));
}

export const BYTE_MUTATIONS = { flipBytes, truncate, corruptVarint, corruptLength, duplicateField, dropField };

// ---- graphs --------------------------------------------------------------------------------------------------

const OPS = ['Conv', 'Gemm', 'MatMul', 'Relu', 'Add', 'Reshape', 'Softmax', 'Concat', 'Transpose', 'LayerNormalization', 'Resize', 'Slice', 'NoSuchOp', 'QuantizeLinear', 'DequantizeLinear', 'If', 'Loop'];
const ATTRS = ['axis', 'group', 'kernel_shape', 'strides', 'pads', 'dilations', 'perm', 'transA', 'transB', 'epsilon', 'alpha', 'mode', 'to', 'keepdims', 'axes', 'block_size'];
const BAD_INTS = [-1, 0, 99, -99, 2 ** 31 - 1, -(2 ** 31), 1e15];

function withModel(bytes, edit) {
  const model = decodeModel(bytes);
  edit(model);
  return encodeModel(model);
}

const GRAPH_MUTATIONS = {
  swapOpType: (rng, model) => {
    const node = rng.pick(model.graph.nodes());
    node.opType = rng.pick(OPS);
  },
  attributeOutOfRange: (rng, model) => {
    const node = rng.pick(model.graph.nodes());
    const name = rng.bool() && node.attributes.size > 0 ? rng.pick([...node.attributes.keys()]) : rng.pick(ATTRS);
    const v = rng.pick(BAD_INTS);
    const value = rng.pick([v, [v, v], [], 'bogus', [v, 0, v, -v], 1e300]);
    node.setAttribute(name, value);
  },
  dropInitializer: (rng, model) => {
    const inits = [...model.graph.initializers.values()];
    if (inits.length === 0) return;
    const value = rng.pick(inits);
    // Readers keep a Value nothing produces: a dangling name in the written file.
    model.graph.initializers.delete(value.name);
  },
  danglingInput: (rng, model) => {
    const node = rng.pick(model.graph.nodes());
    if (node.inputs.length === 0) return;
    node.setInput(rng.int(node.inputs.length), new Value(`ghost_${rng.int(1000)}`));
  },
  duplicateName: (rng, model) => {
    const nodes = model.graph.nodes();
    const a = rng.pick(nodes);
    const b = rng.pick(nodes);
    if (rng.bool()) a.outputs[0].name = b.outputs[0].name;
    else a.outputs[0].name = rng.pick([...model.graph.initializers.keys(), model.graph.inputs[0].name]);
  },
  cycle: (rng, model) => {
    const nodes = model.graph.nodes();
    const early = nodes[rng.int(Math.max(1, nodes.length >> 1))];
    const late = nodes[nodes.length - 1 - rng.int(Math.max(1, nodes.length >> 1))];
    if (early.inputs.length === 0) return;
    early.setInput(0, late.outputs[0]);
  },
  hugeInputDims: (rng, model) => {
    const input = model.graph.inputs[0];
    const dims = [rng.pick(HUGE), rng.pick([1, 1e6, 1e12]), rng.pick([1, 3, 1e6])];
    input.type = tensorType(DataType.FLOAT, dims.slice(0, 1 + rng.int(3)));
  },
  wrongInputDtype: (rng, model) => {
    const input = model.graph.inputs[0];
    const dtype = rng.pick([DataType.INT64, DataType.FLOAT16, DataType.STRING, DataType.BOOL, DataType.DOUBLE, DataType.INT8, 0, 999]);
    input.type = tensorType(dtype, [1, 3, 8, 8]);
  },
  wrongInitializerDtype: (rng, model) => {
    const inits = [...model.graph.initializers.values()].filter((v) => v.constValue);
    if (inits.length === 0) return;
    const value = rng.pick(inits);
    const n = value.constValue.size ?? 1;
    const arrays = [() => new Int32Array(n), () => new Float64Array(n), () => new Uint8Array(n), () => new Int8Array(Math.max(1, n >> 1))];
    value.constValue = Tensor.fromArray(rng.pick(arrays)(), [...value.constValue.dims]);
  },
  removeOutputs: (rng, model) => {
    model.graph.outputs.length = rng.int(model.graph.outputs.length);
  },
};

// ---- npy / npz -----------------------------------------------------------------------------------------------

function mutateNpyHeader(rng, bytes) {
  const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 256))).toString('latin1');
  const end = text.indexOf('\n');
  const header = text.slice(0, end + 1);
  const variants = [
    () => header.replace(/'descr': '[^']*'/, `'descr': '${rng.pick(['<c16', '|O', '<f2', '>f4', '<U8', 'bogus', '<i8', '|b1'])}'`),
    () => header.replace(/'shape': \([^)]*\)/, `'shape': (${rng.pick(['1000000000000,', '-1, 3', '2**40,', '1, 3, 1000000, 1000000', '', '0,'])})`),
    () => header.replace(/'fortran_order': \w+/, `'fortran_order': ${rng.pick(['True', 'None', '1', 'x'])}`),
    () => header.replace('{', rng.pick(['', '{{', '[', '{"a": 1, '])),
    () => header.slice(0, rng.int(header.length)),
  ];
  const mutated = Buffer.from(rng.pick(variants)(), 'latin1');
  const out = new Uint8Array(mutated.length + bytes.length - header.length);
  out.set(mutated, 0);
  out.set(bytes.subarray(header.length), mutated.length);
  if (rng.bool(0.3) && out.length > 9) {
    // The header-length field itself.
    const view = new DataView(out.buffer);
    view.setUint16(8, rng.pick([0, 1, 65535, out.length + 10]), true);
  }
  return out;
}

function mutateNpyBody(rng, bytes) {
  const array = parseNpy(bytes, 'x.npy');
  const data = Float32Array.from(array.data);
  const kind = rng.int(4);
  if (kind === 0) {
    for (let i = 0; i < 1 + rng.int(8); i++) data[rng.int(data.length)] = rng.pick([NaN, Infinity, -Infinity, 3e38]);
    return encodeNpy({ dtype: 'float32', shape: array.shape, data });
  }
  if (kind === 1) return encodeNpy({ dtype: 'float64', shape: array.shape, data: Float64Array.from(data) });
  if (kind === 2) return encodeNpy({ dtype: 'float32', shape: [array.shape.reduce((a, b) => a * b, 1)], data });
  return truncate(rng, bytes);
}

function mutateNpz(rng, npy, inputName) {
  const array = parseNpy(npy, 'x.npy');
  const key = rng.pick([inputName, 'other', '', '../escape', `${inputName}.npy`]);
  const arrays = [[key, array]];
  if (rng.bool(0.3)) arrays.push([inputName, { dtype: 'int64', shape: [2], data: new BigInt64Array(2) }]);
  let bytes = encodeNpz(arrays, { compress: rng.bool() });
  const byteKind = rng.int(3);
  if (byteKind === 1) bytes = flipBytes(rng, bytes);
  else if (byteKind === 2) bytes = truncate(rng, bytes);
  return bytes;
}

// ---- config --------------------------------------------------------------------------------------------------

const CONFIG_VALUES = [null, 0, -1, 1e308, 'int8', 'int4', '', [], {}, true, '../../etc', { kind: 'mse' }, [{ node: '*', dtype: 'qint16' }], [{ node: 1 }]];
const CONFIG_KEYS = ['template', 'observer', 'overrides', 'reusedOutputs', 'plugins', 'workers', 'march', 'perf', 'passes', '__proto__', 'constructor'];

function mutateConfig(rng) {
  const config = { template: 'int8' };
  for (let i = 0; i < 1 + rng.int(4); i++) config[rng.pick(CONFIG_KEYS)] = rng.pick(CONFIG_VALUES);
  let text = JSON.stringify(config);
  if (rng.bool(0.3)) text = text.slice(0, rng.int(text.length));
  if (rng.bool(0.1)) text = '\uFEFF' + text;
  return Buffer.from(text);
}

// ---- cases ---------------------------------------------------------------------------------------------------

/**
 * One case: { kind, files: { name: bytes }, args(dir) → CLI argv }. `base` holds the real fixture files read once:
 * models (name → { bytes, calib npy bytes, input name }), and qat (a calibrated qat.onnx's bytes).
 */
export function makeCase(rng, base) {
  const modelName = rng.pick(Object.keys(base.models));
  const fixture = base.models[modelName];
  const family = rng.pick(['bytes', 'bytes', 'graph', 'graph', 'npy', 'npz', 'config', 'external', 'qat']);
  const calibArgs = (dir) => ['--calib', path.join(dir, 'calib')];
  const files = {};
  if (family === 'bytes') {
    const name = rng.pick(Object.keys(BYTE_MUTATIONS));
    files['model.onnx'] = BYTE_MUTATIONS[name](rng, fixture.bytes);
    const verb = rng.pick(['inspect', 'calibrate', 'perf']);
    return { kind: `bytes/${name}/${verb}`, files, args: (dir) => verbArgs(rng, verb, dir, 'model.onnx') };
  }
  if (family === 'graph' || family === 'qat') {
    const name = rng.pick(Object.keys(GRAPH_MUTATIONS));
    const source = family === 'qat' ? base.qat : fixture.bytes;
    files['model.onnx'] = withModel(source, (model) => GRAPH_MUTATIONS[name](rng, model));
    const verb = family === 'qat' ? rng.pick(['convert', 'perf', 'compare']) : rng.pick(['inspect', 'calibrate', 'calibrate', 'quantize']);
    return { kind: `${family}/${name}/${verb}`, files, args: (dir) => verbArgs(rng, verb, dir, 'model.onnx', family === 'qat' ? base.qatFloat : undefined) };
  }
  if (family === 'npy') {
    files['model.onnx'] = fixture.bytes;
    const header = rng.bool();
    files['calib/input_000.npy'] = header ? mutateNpyHeader(rng, fixture.npy) : mutateNpyBody(rng, fixture.npy);
    return { kind: `npy/${header ? 'header' : 'body'}/calibrate`, files, args: (dir) => ['calibrate', path.join(dir, 'model.onnx'), ...calibArgs(dir), '--out', path.join(dir, 'out')] };
  }
  if (family === 'npz') {
    files['model.onnx'] = fixture.bytes;
    files['calib/sample.npz'] = mutateNpz(rng, fixture.npy, fixture.input);
    const verb = rng.pick(['calibrate', 'compare']);
    return {
      kind: `npz/${verb}`,
      files,
      args: (dir) =>
        verb === 'compare'
          ? ['compare', path.join(dir, 'model.onnx'), path.join(dir, 'model.onnx'), ...calibArgs(dir)]
          : ['calibrate', path.join(dir, 'model.onnx'), ...calibArgs(dir), '--out', path.join(dir, 'out')],
    };
  }
  if (family === 'config') {
    files['model.onnx'] = fixture.bytes;
    files['quantkit.config.json'] = mutateConfig(rng);
    return {
      kind: 'config/calibrate',
      files,
      args: (dir) => ['calibrate', path.join(dir, 'model.onnx'), '--random', '1', '--config', path.join(dir, 'quantkit.config.json'), '--out', path.join(dir, 'out')],
    };
  }
  // External data: the weights beside the model, then the data file cut short or the offsets pushed past its end.
  return {
    kind: 'external/calibrate',
    files,
    prepare: (dir) => {
      const model = decodeModel(fixture.bytes);
      saveModel(model, path.join(dir, 'model.onnx'), { externalData: 'always', externalMinBytes: 64 });
      const data = fs.readdirSync(dir).find((f) => f !== 'model.onnx');
      if (data && rng.bool()) {
        const full = path.join(dir, data);
        fs.truncateSync(full, rng.int(fs.statSync(full).size));
      } else {
        const bytes = fs.readFileSync(path.join(dir, 'model.onnx'));
        fs.writeFileSync(path.join(dir, 'model.onnx'), rewriteExternalOffsets(rng, bytes));
      }
    },
    args: (dir) => verbArgs(rng, rng.pick(['inspect', 'calibrate']), dir, 'model.onnx'),
  };
}

/** Rewrites the value of StringStringEntryProto 'offset' / 'length' entries to numbers past the end of the data. */
function rewriteExternalOffsets(rng, bytes) {
  const text = Buffer.from(bytes).toString('latin1');
  const keys = [];
  for (const key of ['offset', 'length']) {
    let at = text.indexOf(`\n\x06${key}`);
    while (at >= 0) {
      keys.push(at);
      at = text.indexOf(`\n\x06${key}`, at + 1);
    }
  }
  if (keys.length === 0) return corruptVarint(rng, bytes);
  const at = rng.pick(keys) + 8;
  // The value field follows: 0x12, length, digits.
  if (bytes[at] !== 0x12) return corruptVarint(rng, bytes);
  const len = bytes[at + 1];
  const digits = Buffer.from(String(rng.pick([2 ** 40, 2 ** 53, 1e20, -5, 99999999])), 'latin1');
  return splice(bytes, at + 1, at + 2 + len, Uint8Array.from([digits.length, ...digits]));
}

function verbArgs(rng, verb, dir, file, float) {
  const model = path.join(dir, file);
  const out = path.join(dir, 'out');
  switch (verb) {
    case 'inspect':
      return ['inspect', model, ...(rng.bool() ? ['--json'] : [])];
    case 'calibrate':
      return ['calibrate', model, '--random', '1', '--template', rng.pick(['int8', 'int16']), '--out', out];
    case 'quantize':
      return ['quantize', model, '--random', '1', '--march', rng.pick(['nash-m', 'nash-h']), '--out', out];
    case 'perf':
      return ['perf', model, '--march', rng.pick(['nash-m', 'nash-h'])];
    case 'convert':
      return ['convert', model, '--march', rng.pick(['nash-m', 'nash-h']), '--out', path.join(dir, 'quantized.onnx')];
    case 'compare':
      return ['compare', float ?? model, model, '--random', '1'];
    default:
      throw new Error(`unknown verb ${verb}`);
  }
}
