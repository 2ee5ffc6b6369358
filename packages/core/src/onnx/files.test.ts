import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { decodeModel } from './decode.js';
import { encodeModel } from './encode.js';
import { allTensors, loadModel, saveModel, writeChunksAtomic, writeFileAtomic } from './files.js';
import { has, type Message } from './proto.js';
import { errorOf } from '../testing/error-of.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-files-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** x → MatMul(w: 16×32 float, 2 KiB) → Add(b: 32 floats) → y */
function model(): Model {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [1, 16]);
  const w = b.initializer('w', new Float32Array(512).map((_, i) => i * 0.25 - 7), [16, 32]);
  const bias = b.initializer('b', new Float32Array(32).map((_, i) => -i), [32]);
  const [h] = b.node('MatMul', [x, w], { name: 'mm' });
  const [y] = b.node('Add', [h!, bias], { name: 'add' });
  b.output(y!, DataType.FLOAT, [1, 32]);
  return b.model();
}

/** Writes `model` with every initializer marked external at `location` (offset/length optional). */
function writeWithExternal(file: string, location: string, extra: { key: string; value: string }[] = []) {
  const bytes = encodeModel(model(), {
    tensorProto: (tensor, name): Message => ({
      dims: [...tensor.dims],
      dataType: tensor.dtype,
      name,
      dataLocation: 1,
      externalData: [{ key: 'location', value: location }, ...extra],
    }),
  });
  fs.writeFileSync(file, bytes);
}

const floats = (tensor: Tensor) => [...tensor.toArray()];
const tmpFiles = (folder: string) => fs.readdirSync(folder).filter((name) => name.endsWith('.tmp'));

describe('saveModel / loadModel', () => {
  it('round-trips a model inline by default', () => {
    const file = path.join(dir, 'model.onnx');
    const original = model();
    saveModel(original, file);
    expect(fs.readdirSync(dir)).toEqual(['model.onnx']);
    const loaded = loadModel(file);
    expect(encodeModel(loaded)).toEqual(encodeModel(original));
    expect(floats(loaded.graph.initializers.get('w')!.constValue!)).toEqual(floats(original.graph.initializers.get('w')!.constValue!));
  });

  it("externalData: 'always' writes <file>.data and reloads identical data lazily", () => {
    const file = path.join(dir, 'model.onnx');
    const original = model();
    saveModel(original, file, { externalData: 'always' });
    expect(fs.readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.data']);

    const loaded = loadModel(file);
    const w = loaded.graph.initializers.get('w')!.constValue!;
    const b = loaded.graph.initializers.get('b')!.constValue!;
    expect(w.isExternal).toBe(true);
    expect(b.isExternal).toBe(false);
    expect(fs.statSync(file).size).toBeLessThan(2048);

    // Only read on first use: data written after loading is what the tensor returns.
    const dataFile = path.join(dir, 'model.onnx.data');
    const changed = new Float32Array(512).fill(3);
    const fd = fs.openSync(dataFile, 'r+');
    fs.writeSync(fd, new Uint8Array(changed.buffer), 0, 2048, 0);
    fs.closeSync(fd);
    expect(floats(w)).toEqual([...changed]);
  });

  it("externalData: 'always' data reads back equal to the original", () => {
    const file = path.join(dir, 'model.onnx');
    const original = model();
    saveModel(original, file, { externalData: 'always', externalMinBytes: 0 });
    const loaded = loadModel(file);
    for (const name of ['w', 'b']) {
      const tensor = loaded.graph.initializers.get(name)!.constValue!;
      expect(tensor.isExternal).toBe(true);
      expect(floats(tensor)).toEqual(floats(original.graph.initializers.get(name)!.constValue!));
    }
  });

  it('aligns each external tensor to 64 bytes and stores a shared tensor once', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [3]);
    const shared = Tensor.fromArray(new Float32Array([1, 2, 3]), [3]);
    const odd = b.initializer('odd', new Uint8Array([1, 2, 3, 4, 5]), [5]);
    const s1 = b.initializer('s1', shared);
    const s2 = b.initializer('s2', shared);
    const [y] = b.node('Sum', [x, s1, s2], { name: 'sum' });
    const [z] = b.node('Cast', [odd], { name: 'cast' });
    b.output(y!);
    b.output(z!);
    const file = path.join(dir, 'm.onnx');
    saveModel(b.model(), file, { externalData: 'always', externalMinBytes: 1 });
    expect(fs.statSync(`${file}.data`).size).toBe(64 + 12);
    const entries = (name: string) => {
      const tensor = loadModel(file).graph.initializers.get(name)!.constValue!;
      return Object.fromEntries((tensor.proto!.externalData as Message[]).map((e) => [e.key, e.value]));
    };
    expect(entries('odd')).toEqual({ location: 'm.onnx.data', offset: '0', length: '5' });
    expect(entries('s1')).toEqual({ location: 'm.onnx.data', offset: '64', length: '12' });
    expect(entries('s2')).toEqual(entries('s1'));
    expect(floats(loadModel(file).graph.initializers.get('s2')!.constValue!)).toEqual([1, 2, 3]);
  });

  it("saving a model with external data using 'never' inlines it, so the copy stands alone", () => {
    const source = path.join(dir, 'source.onnx');
    saveModel(model(), source, { externalData: 'always' });
    const loaded = loadModel(source);
    const target = path.join(dir, 'sub', 'copy.onnx');
    fs.mkdirSync(path.dirname(target));
    saveModel(loaded, target);
    expect(fs.readdirSync(path.dirname(target))).toEqual(['copy.onnx']);
    const copy = decodeModel(fs.readFileSync(target));
    expect(copy.graph.initializers.get('w')!.constValue!.isExternal).toBe(false);
    expect(floats(copy.graph.initializers.get('w')!.constValue!)).toEqual(floats(model().graph.initializers.get('w')!.constValue!));
  });

  it('re-saving over the same file keeps the external data it came from', () => {
    const file = path.join(dir, 'model.onnx');
    saveModel(model(), file, { externalData: 'always' });
    saveModel(loadModel(file), file, { externalData: 'always' });
    expect(floats(loadModel(file).graph.initializers.get('w')!.constValue!)).toEqual(
      floats(model().graph.initializers.get('w')!.constValue!),
    );
  });

  it('moving decoded tensors to external data keeps their proto fields faithful', () => {
    const first = path.join(dir, 'first.onnx');
    saveModel(model(), first, { externalData: 'always' });
    const second = path.join(dir, 'second.onnx');
    saveModel(loadModel(first), second, { externalData: 'always' });
    expect(fs.readFileSync(`${second}.data`)).toEqual(fs.readFileSync(`${first}.data`));
    const w = decodeModel(fs.readFileSync(second)).graph.initializers.get('w')!.constValue!;
    expect(has(w.proto, 'docString')).toBe(false);
    const inline = path.join(dir, 'inline.onnx');
    saveModel(loadModel(first), inline);
    expect(has(decodeModel(fs.readFileSync(inline)).graph.initializers.get('w')!.constValue!.proto, 'docString')).toBe(false);
  });

  it('a doc string on a tensor moved to external data is kept', () => {
    const source = model();
    const bytes = encodeModel(source, {
      tensorProto: (tensor, name) => ({ name, dims: [...tensor.dims], dataType: tensor.dtype, rawData: tensor.rawBytes(), docString: `${name} doc` }),
    });
    const first = path.join(dir, 'documented.onnx');
    fs.writeFileSync(first, bytes);
    const second = path.join(dir, 'external.onnx');
    saveModel(loadModel(first), second, { externalData: 'always', externalMinBytes: 0 });
    const b = loadModel(second).graph.initializers.get('b')!.constValue!;
    expect(b.isExternal).toBe(true);
    expect(b.proto!.docString).toBe('b doc');
  });

  it('allTensors lists initializers and attribute tensors, also in subgraphs', () => {
    const b = new GraphBuilder('g');
    const c = b.input('c', DataType.BOOL, []);
    const inner = new GraphBuilder('then');
    const [k] = inner.node('Constant', [], { name: 'k', attributes: { value: Tensor.fromArray(new Float32Array([1]), [1], { name: 'kv' }) } });
    inner.output(k!);
    b.initializer('w', new Float32Array([1]), [1]);
    b.node('If', [c], { name: 'if', attributes: { then_branch: inner.graph, else_branch: inner.graph } });
    expect([...allTensors(b.graph)].map((t) => t.name)).toEqual(['w', 'kv', 'kv']);
  });
});

describe('loadModel refuses unsafe or broken external data', () => {
  it("a location that climbs out of the folder ('../../etc/passwd') → QK_EXTERNAL_DATA_PATH naming file and tensor", () => {
    const file = path.join(dir, 'evil.onnx');
    writeWithExternal(file, '../../etc/passwd');
    const error = errorOf(() => loadModel(file));
    expect(error.code).toBe('QK_EXTERNAL_DATA_PATH');
    expect(error.message).toContain(file);
    expect(error.message).toContain('tensor w');
    expect(error.message).toContain('../../etc/passwd');
    expect(error.subject).toBe(file);
  });

  it('an absolute location is refused, even one inside the folder', () => {
    const file = path.join(dir, 'abs.onnx');
    const data = path.join(dir, 'abs.data');
    fs.writeFileSync(data, new Uint8Array(4096));
    writeWithExternal(file, data);
    expect(errorOf(() => loadModel(file)).code).toBe('QK_EXTERNAL_DATA_PATH');
    writeWithExternal(file, '/etc/passwd');
    expect(errorOf(() => loadModel(file)).code).toBe('QK_EXTERNAL_DATA_PATH');
  });

  it('a symbolic link inside the folder that leads outside is refused', () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'secret.bin'), new Uint8Array(4096));
      fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(dir, 'link.data'));
      const file = path.join(dir, 'linked.onnx');
      writeWithExternal(file, 'link.data');
      const error = errorOf(() => loadModel(file));
      expect(error.code).toBe('QK_EXTERNAL_DATA_PATH');
      expect(error.message).toContain('link.data');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('data in a subfolder, or in a file whose name starts with two dots, is inside and accepted', () => {
    fs.mkdirSync(path.join(dir, 'weights'));
    fs.writeFileSync(path.join(dir, 'weights', 'w.bin'), new Uint8Array(4096));
    fs.writeFileSync(path.join(dir, '..w.bin'), new Uint8Array(4096));
    for (const location of ['weights/w.bin', './weights/../weights/w.bin', '..w.bin']) {
      const file = path.join(dir, 'ok.onnx');
      writeWithExternal(file, location, [{ key: 'length', value: '2048' }]);
      const w = loadModel(file).graph.initializers.get('w')!.constValue!;
      expect(w.toArray()).toEqual(new Float32Array(512));
    }
  });

  it('a model reached through a symlinked folder may read data in that folder', () => {
    const real = path.join(dir, 'real');
    fs.mkdirSync(real);
    saveModel(model(), path.join(real, 'model.onnx'), { externalData: 'always' });
    fs.symlinkSync(real, path.join(dir, 'alias'));
    const loaded = loadModel(path.join(dir, 'alias', 'model.onnx'));
    expect(loaded.graph.initializers.get('w')!.constValue!.toArray()[1]).toBe(-6.75);
  });

  it('a missing data file → QK_EXTERNAL_DATA', () => {
    const file = path.join(dir, 'missing.onnx');
    writeWithExternal(file, 'missing.onnx.data');
    const error = errorOf(() => loadModel(file));
    expect(error.code).toBe('QK_EXTERNAL_DATA');
    expect(error.message).toContain('missing.onnx.data');
    expect(error.message).toContain('tensor w');
  });

  it('offset + length beyond the file size → QK_EXTERNAL_DATA', () => {
    const file = path.join(dir, 'short.onnx');
    fs.writeFileSync(path.join(dir, 'short.data'), new Uint8Array(3000));
    writeWithExternal(file, 'short.data', [
      { key: 'offset', value: '1000' },
      { key: 'length', value: '2048' },
    ]);
    const error = errorOf(() => loadModel(file));
    expect(error.code).toBe('QK_EXTERNAL_DATA');
    expect(error.message).toContain('1000..3048');
    expect(error.message).toContain('3000');
  });

  it('a non-numeric offset → QK_EXTERNAL_DATA', () => {
    const file = path.join(dir, 'nan.onnx');
    fs.writeFileSync(path.join(dir, 'nan.data'), new Uint8Array(3000));
    writeWithExternal(file, 'nan.data', [{ key: 'offset', value: 'twelve' }]);
    expect(errorOf(() => loadModel(file)).code).toBe('QK_EXTERNAL_DATA');
  });

  it('a location that is a folder → QK_EXTERNAL_DATA', () => {
    fs.mkdirSync(path.join(dir, 'weights'));
    const file = path.join(dir, 'folder.onnx');
    writeWithExternal(file, 'weights', [{ key: 'length', value: '0' }]);
    const error = errorOf(() => loadModel(file));
    expect(error.code).toBe('QK_EXTERNAL_DATA');
    expect(error.message).toContain('not a file');
  });

  it('a data file that shrinks after loading → QK_EXTERNAL_DATA on first use, never zeros', () => {
    const file = path.join(dir, 'model.onnx');
    saveModel(model(), file, { externalData: 'always' });
    const loaded = loadModel(file);
    fs.truncateSync(`${file}.data`, 1024);
    const error = errorOf(() => loaded.graph.initializers.get('w')!.constValue!.toArray());
    expect(error.code).toBe('QK_EXTERNAL_DATA');
    expect(error.message).toContain('tensor w');
    expect(error.message).toContain('1024 of 2048');
  });

  it('a data file deleted after loading → QK_EXTERNAL_DATA on first use', () => {
    const file = path.join(dir, 'model.onnx');
    saveModel(model(), file, { externalData: 'always' });
    const loaded = loadModel(file);
    fs.rmSync(`${file}.data`);
    const error = errorOf(() => loaded.graph.initializers.get('w')!.constValue!.rawBytes());
    expect(error.code).toBe('QK_EXTERNAL_DATA');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('an external tensor without a location → QK_EXTERNAL_DATA_PATH', () => {
    const file = path.join(dir, 'nolocation.onnx');
    writeWithExternal(file, '');
    expect(errorOf(() => loadModel(file)).code).toBe('QK_EXTERNAL_DATA_PATH');
  });
});

describe('loadModel file errors', () => {
  it('a missing path → QK_FILE_NOT_FOUND naming it', () => {
    const file = path.join(dir, 'nope.onnx');
    const error = errorOf(() => loadModel(file));
    expect(error.code).toBe('QK_FILE_NOT_FOUND');
    expect(error.message).toContain(file);
  });

  it('a folder → QK_FILE_READ', () => {
    const error = errorOf(() => loadModel(dir));
    expect(error.code).toBe('QK_FILE_READ');
    expect(error.message).toContain('folder');
  });

  it('an empty file → QK_FILE_EMPTY naming it', () => {
    const file = path.join(dir, 'empty.onnx');
    fs.writeFileSync(file, '');
    const error = errorOf(() => loadModel(file));
    expect(error.code).toBe('QK_FILE_EMPTY');
    expect(error.subject).toBe(file);
  });
});

describe('writeFileAtomic', () => {
  it('writes the bytes and leaves no temporary file', () => {
    const file = path.join(dir, 'out.bin');
    writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    writeFileAtomic(file, 'text');
    expect(fs.readFileSync(file, 'utf8')).toBe('text');
    expect(fs.readdirSync(dir)).toEqual(['out.bin']);
  });

  it('writeChunksAtomic writes many chunks (more than one writev call takes) in order', () => {
    const chunks = Array.from({ length: 2500 }, (_, i) => new Uint8Array([i & 0xff, (i >> 8) & 0xff]).subarray(0, i % 3 === 0 ? 0 : 2));
    const file = path.join(dir, 'chunks.bin');
    writeChunksAtomic(file, chunks);
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(Uint8Array.from(chunks.flatMap((c) => [...c])));
    expect(fs.readdirSync(dir)).toEqual(['chunks.bin']);
  });

  it('saveModel of a model with a large weight writes the same bytes as encodeModel', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [1, 64]);
    const w = b.initializer('w', new Float32Array(64 * 64).map((_, i) => i), [64, 64]);
    const [y] = b.node('MatMul', [x, w], { name: 'mm' });
    b.output(y!);
    const file = path.join(dir, 'big.onnx');
    saveModel(b.model(), file);
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(new Uint8Array(encodeModel(b.model())));
    expect(loadModel(file).graph.initializers.get('w')!.constValue!.toArray()[4095]).toBe(4095);
  });

  it('into a missing folder → QK_FILE_WRITE and no temporary files', () => {
    const file = path.join(dir, 'missing', 'out.onnx');
    const error = errorOf(() => writeFileAtomic(file, new Uint8Array([1])));
    expect(error.code).toBe('QK_FILE_WRITE');
    expect(error.message).toContain(file);
    expect(error.cause).toBeInstanceOf(Error);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('when the rename fails, the temporary file is removed', () => {
    const target = path.join(dir, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'keep'), 'x');
    expect(errorOf(() => writeFileAtomic(target, new Uint8Array([1]))).code).toBe('QK_FILE_WRITE');
    expect(tmpFiles(dir)).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(['taken']);
  });

  it('saveModel into a missing folder → QK_FILE_WRITE, also with external data', () => {
    const file = path.join(dir, 'missing', 'model.onnx');
    expect(errorOf(() => saveModel(model(), file)).code).toBe('QK_FILE_WRITE');
    expect(errorOf(() => saveModel(model(), file, { externalData: 'always' })).code).toBe('QK_FILE_WRITE');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
