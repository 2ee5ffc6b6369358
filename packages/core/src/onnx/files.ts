import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { QuantkitError } from '../errors/quantkit-error.js';
import { AttributeType } from '../ir/attribute.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { ExternalFile, Tensor } from '../ir/tensor.js';
import { decodeModel } from './decode.js';
import { encodeModelChunks } from './encode.js';
import { has, type Message } from './proto.js';

/** ONNX protobufs cannot exceed 2 GiB; past this much tensor data saveModel moves weights to a side file. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;
const EXTERNAL_MARGIN = 64 * 2 ** 20;
const EXTERNAL_ALIGN = 64;

/** Every tensor of a model: initializers and attribute tensors, in all graphs. */
export function* allTensors(graph: Graph): Generator<Tensor> {
  for (const value of graph.initializers.values()) if (value.constValue) yield value.constValue;
  for (const node of graph) {
    for (const attribute of node.attributes.values()) {
      if (attribute.type === AttributeType.TENSOR) yield attribute.value as Tensor;
      if (attribute.type === AttributeType.TENSORS) yield* attribute.value as Tensor[];
    }
    for (const subgraph of node.subgraphs()) yield* allTensors(subgraph);
  }
}

function externalEntries(tensor: Tensor): Map<string, string> {
  const entries = new Map<string, string>();
  for (const entry of (tensor.proto?.externalData as Message[] | undefined) ?? []) {
    entries.set((entry.key as string | undefined) ?? '', (entry.value as string | undefined) ?? '');
  }
  return entries;
}

function isInside(folder: string, target: string): boolean {
  const relative = path.relative(folder, target);
  // '..' as a whole first segment climbs out; a name like '..weights.bin' does not.
  const climbs = relative === '..' || relative.startsWith(`..${path.sep}`);
  return relative === '' || (!climbs && !path.isAbsolute(relative));
}

/**
 * Checks where an external tensor's data lives and arranges to read it on demand. The location must be a
 * relative path that stays inside the model's folder, also after following symbolic links; nothing outside is
 * ever opened.
 */
function attachExternalData(tensor: Tensor, modelFile: string, files: Map<string, ExternalFile>): void {
  const folder = path.dirname(path.resolve(modelFile));
  const entries = externalEntries(tensor);
  const location = entries.get('location');
  const fail = (what: string, hint: string) =>
    new QuantkitError('QK_EXTERNAL_DATA_PATH', `${modelFile}: tensor ${tensor.name} ${what}.`, { hint, subject: modelFile });
  if (!location) throw fail('is marked external but names no location', 'Re-export the model with its external data.');
  const target = path.resolve(folder, location);
  if (path.isAbsolute(location) || !isInside(folder, target)) {
    throw fail(
      `keeps its data at '${location}', outside the model's folder; quantkit refuses to read it`,
      'External data must sit in the model folder or below it. Move the data file next to the model and fix the location.',
    );
  }
  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch (cause) {
    throw new QuantkitError(
      'QK_EXTERNAL_DATA',
      `${modelFile}: the external data file '${location}' of tensor ${tensor.name} does not exist.`,
      { cause, hint: 'Copy the .data file that was exported with the model into the same folder.', subject: modelFile },
    );
  }
  if (!isInside(fs.realpathSync(folder), real)) {
    throw fail(`keeps its data at '${location}', a link that leads outside the model's folder`, 'Copy the data file into the model folder instead of linking to it.');
  }
  const offset = Number(entries.get('offset') ?? 0);
  const declared = entries.get('length');
  const stat = fs.statSync(real);
  if (!stat.isFile()) {
    throw new QuantkitError('QK_EXTERNAL_DATA', `${modelFile}: the external data '${location}' of tensor ${tensor.name} is not a file.`, {
      hint: 'Copy the .data file that was exported with the model into the same folder.',
      subject: modelFile,
    });
  }
  const size = stat.size;
  const length = declared === undefined ? size - offset : Number(declared);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new QuantkitError(
      'QK_EXTERNAL_DATA',
      `${modelFile}: tensor ${tensor.name} wants bytes ${offset}..${offset + length} of '${location}', which has ${size}.`,
      { hint: 'The data file does not belong to this model or is truncated; re-export the model.', subject: modelFile },
    );
  }
  // The file is read later, so it may have changed since the checks above; a short read must not give zeros.
  const unreadable = (why: string, cause?: unknown) =>
    new QuantkitError('QK_EXTERNAL_DATA', `${modelFile}: cannot read tensor ${tensor.name} from '${location}': ${why}.`, {
      cause,
      hint: 'The data file changed or vanished after the model was loaded; load the model again.',
      subject: modelFile,
    });
  let file = files.get(real);
  if (file === undefined) {
    let bytes: Uint8Array | undefined;
    file = {
      location,
      bytes: () => {
        if (bytes === undefined) {
          try {
            bytes = readWhole(real);
          } catch (cause) {
            throw unreadable((cause as Error).message, cause);
          }
        }
        return bytes;
      },
    };
    files.set(real, file);
  }
  const shared = file;
  tensor.externalFile = shared;
  tensor.externalReader = () => {
    // Every tensor of the file is a view of one read of it: the weights are in memory once, also when a session
    // gets the same bytes as its external data.
    const bytes = shared.bytes();
    if (bytes.byteLength < offset + length) throw unreadable(`the file ends after ${bytes.byteLength} of ${offset + length} bytes`);
    return bytes.subarray(offset, offset + length);
  };
}

/** A whole file in pieces of at most 1 GiB (readFileSync refuses files past 2 GiB). */
function readWhole(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const bytes = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, bytes, done, Math.min(size - done, 2 ** 30), done);
      if (n === 0) break;
      done += n;
    }
    return bytes.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Arranges for the external tensors of a model decoded from `file` to read their data from beside it (see
 * loadModel); a model without external data is left as it is.
 */
export function attachExternalFiles(model: Model, file: string): void {
  const files = new Map<string, ExternalFile>();
  for (const tensor of allTensors(model.graph)) if (tensor.isExternal) attachExternalData(tensor, file, files);
}

/** The external data files a model's tensors read from, by location (for an onnxruntime session of it). */
export function externalFilesOf(model: Model): ExternalFile[] {
  const byLocation = new Map<string, ExternalFile>();
  for (const tensor of allTensors(model.graph)) {
    if (tensor.isExternal && tensor.externalFile) byLocation.set(tensor.externalFile.location, tensor.externalFile);
  }
  return [...byLocation.values()];
}

/** Reads an ONNX model from disk. External data is checked now and read when a tensor's data is first used. */
export function loadModel(file: string): Model {
  let bytes: Buffer;
  try {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) {
      throw new QuantkitError('QK_FILE_READ', `${file} is a folder, not an ONNX model file.`, {
        hint: 'Pass the path of the .onnx file inside it.',
        subject: file,
      });
    }
    bytes = fs.readFileSync(file);
  } catch (cause) {
    if (cause instanceof QuantkitError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new QuantkitError('QK_FILE_NOT_FOUND', `${file} does not exist.`, { cause, hint: 'Check the path.', subject: file });
    }
    throw new QuantkitError('QK_FILE_READ', `Cannot read ${file}: ${(cause as Error).message}.`, { cause, subject: file });
  }
  const model = decodeModel(bytes, { file });
  attachExternalFiles(model, file);
  return model;
}

export interface SaveOptions {
  /**
   * 'auto' (default) writes weights to `<file>.data` beside the model only when they would push the file past
   * protobuf's 2 GiB limit; 'always' does so for every tensor of at least `externalMinBytes`; 'never' inlines.
   */
  externalData?: 'auto' | 'always' | 'never';
  /** Tensors smaller than this stay inline when data goes external (default 1024 bytes). */
  externalMinBytes?: number;
}

/**
 * Writes `bytes` to `file` atomically: a temporary file in the same folder, then a rename, so a crash never
 * leaves a half-written file under the final name.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array | string): void {
  writeChunksAtomic(file, [typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes]);
}

/** Saves a model; see SaveOptions for when weights go to an external data file. */
export function saveModel(model: Model, file: string, options: SaveOptions = {}): void {
  const mode = options.externalData ?? 'auto';
  const minBytes = options.externalMinBytes ?? 1024;
  const tensors = [...allTensors(model.graph)];
  const total = tensors.reduce((sum, t) => sum + t.byteLength, 0);
  const goExternal = mode === 'always' || (mode === 'auto' && total > PROTOBUF_LIMIT - EXTERNAL_MARGIN);

  if (!goExternal) {
    // Data that was external in the source is inlined, so the saved model is self-contained wherever it goes.
    const chunks = encodeModelChunks(model, {
      tensorProto: (tensor, name) => (tensor.isExternal ? inlineProto(tensor, name) : undefined),
    });
    writeChunksAtomic(file, chunks);
    return;
  }

  const dataName = `${path.basename(file)}.data`;
  const placed = new Map<Tensor, { offset: number; length: number }>();
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    if (placed.has(tensor) || tensor.byteLength < minBytes || tensor.dtype === DataType.STRING) continue;
    const padding = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
    if (padding) chunks.push(new Uint8Array(padding));
    offset += padding;
    const bytes = tensor.rawBytes();
    chunks.push(bytes);
    placed.set(tensor, { offset, length: bytes.byteLength });
    offset += bytes.byteLength;
  }
  const modelChunks = encodeModelChunks(model, {
    tensorProto: (tensor, name) => {
      const place = placed.get(tensor);
      if (!place) return tensor.isExternal ? inlineProto(tensor, name) : undefined;
      return {
        ...baseProto(tensor, name),
        dataLocation: 1,
        externalData: [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(place.offset) },
          { key: 'length', value: String(place.length) },
        ],
      };
    },
  });
  writeChunksAtomic(path.join(path.dirname(file), dataName), chunks);
  writeChunksAtomic(file, modelChunks);
}

function baseProto(tensor: Tensor, name: string): Message {
  const out: Message = { dims: [...tensor.dims], dataType: tensor.dtype };
  if (name) out.name = name;
  // has(): a decoded proto without doc_string still reads '' from its prototype.
  if (has(tensor.proto, 'docString')) out.docString = tensor.proto!.docString;
  return out;
}

function inlineProto(tensor: Tensor, name: string): Message {
  return { ...baseProto(tensor, name), rawData: tensor.rawBytes() };
}

/** Like writeFileAtomic, for data in several chunks (written with writev, never concatenated). */
export function writeChunksAtomic(file: string, chunks: readonly Uint8Array[]): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temporary, 'w');
    writeAll(fd, chunks);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temporary, file);
  } catch (cause) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw new QuantkitError('QK_FILE_WRITE', `Cannot write ${file}: ${(cause as Error).message}.`, {
      cause,
      hint: 'Check that the folder exists and is writable, and that the disk has room.',
      subject: file,
    });
  }
}

const WRITE_BATCH_BYTES = 2 ** 30;

/** writev until every byte is out (writev may write less than asked, and takes at most 1024 buffers a call). */
function writeAll(fd: number, chunks: readonly Uint8Array[]): void {
  let pending = chunks.filter((c) => c.byteLength > 0);
  while (pending.length > 0) {
    // At most 1024 chunks and 1 GiB per call: writev reports the bytes written as an int32, so a batch past
    // 2 GiB fails (weights past protobuf's limit are exactly such a batch); a larger first chunk goes in slices.
    const batch: Uint8Array[] = [];
    let bytes = 0;
    for (const chunk of pending) {
      if (batch.length === 1024 || (batch.length > 0 && bytes + chunk.byteLength > WRITE_BATCH_BYTES)) break;
      batch.push(chunk.byteLength > WRITE_BATCH_BYTES ? chunk.subarray(0, WRITE_BATCH_BYTES) : chunk);
      bytes += batch.at(-1)!.byteLength;
    }
    let written = fs.writevSync(fd, batch);
    // Counted against the pending chunks, not the batch: a sliced chunk is consumed only when all of it is out.
    let consumed = 0;
    while (consumed < pending.length && written >= pending[consumed]!.byteLength) {
      written -= pending[consumed]!.byteLength;
      consumed++;
    }
    const rest = pending.slice(consumed);
    if (written > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(written);
    pending = rest;
  }
}
