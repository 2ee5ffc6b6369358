import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType, dtypeName, dtypeOfArray, rawByteLength, typedArrayCtor, type NumericArray } from './dtype.js';

/** The decoded TensorProto fields quantkit keeps verbatim so an untouched tensor re-encodes as it came. */
export type TensorProtoLike = Record<string, unknown>;

/** Reads the bytes of a tensor stored outside the model file; set by `loadModel`. */
export type ExternalDataReader = (tensor: Tensor) => Uint8Array;

/** An external data file of a loaded model: its location as the model writes it, and its whole content. */
export interface ExternalFile {
  readonly location: string;
  bytes(): Uint8Array;
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * An immutable tensor: dtype, dims and data. Data is decoded lazily: a tensor read from a file keeps a zero-copy
 * view of the file's `raw_data` bytes and turns it into a typed array only when asked. A pass never mutates a
 * tensor; it makes a new one (`Tensor.fromArray`).
 */
export class Tensor {
  readonly dtype: number;
  readonly dims: readonly number[];
  /** The name the tensor had in the file (initializers take their value's name when saved). */
  name: string;
  /** @internal the proto this tensor was decoded from, for a faithful re-encode. */
  readonly proto: TensorProtoLike | undefined;
  /** @internal set by loadModel for tensors whose data lives in an external file. */
  externalReader: ExternalDataReader | undefined;
  /**
   * @internal set by loadModel with the reader: the external file as the model names it (`location`) and its
   * bytes, read once per file and shared by its tensors (their data are views of it) and onnxruntime sessions.
   */
  externalFile: ExternalFile | undefined;
  private array: NumericArray | undefined;
  private raw: Uint8Array | undefined;

  private constructor(
    dtype: number,
    dims: readonly number[],
    name: string,
    proto: TensorProtoLike | undefined,
    raw: Uint8Array | undefined,
    array: NumericArray | undefined,
  ) {
    this.dtype = dtype;
    this.dims = dims;
    this.name = name;
    this.proto = proto;
    this.raw = raw;
    this.array = array;
    this.externalReader = undefined;
    this.externalFile = undefined;
  }

  /** A tensor over a typed array; the array is not copied and must not be changed afterwards. */
  static fromArray(array: NumericArray, dims: readonly number[], options: { dtype?: number; name?: string } = {}): Tensor {
    const dtype = options.dtype ?? dtypeOfArray(array);
    const Ctor = typedArrayCtor(dtype);
    // The bytes are written as raw_data of `dtype`, so an array of another element type would corrupt the model.
    if (Ctor && !(array instanceof Ctor)) {
      throw new QuantkitError(
        'QK_TENSOR_DATA',
        `Tensor ${options.name ?? '(unnamed)'}: ${dtypeName(dtype)} data needs a ${Ctor.name}, got ${array.constructor.name}.`,
      );
    }
    const count = dims.reduce((a, b) => a * b, 1);
    if (array.length !== count) {
      throw new QuantkitError(
        'QK_TENSOR_DATA',
        `Tensor ${options.name ?? '(unnamed)'}: ${array.length} elements do not fill dims [${dims.join(', ')}] (${count} elements).`,
      );
    }
    return new Tensor(dtype, [...dims], options.name ?? '', undefined, undefined, array);
  }

  /** A tensor over little-endian raw bytes (the layout of ONNX raw_data). */
  static fromRawBytes(dtype: number, dims: readonly number[], bytes: Uint8Array, name = ''): Tensor {
    return new Tensor(dtype, [...dims], name, undefined, bytes, undefined);
  }

  /** @internal used by the ONNX decoder. */
  static fromProto(proto: TensorProtoLike, dtype: number, dims: readonly number[], name: string): Tensor {
    const raw = proto.rawData as Uint8Array | undefined;
    return new Tensor(dtype, dims, name, proto, raw && raw.length > 0 ? raw : undefined, undefined);
  }

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  get isExternal(): boolean {
    return this.proto !== undefined && this.proto.dataLocation === 1;
  }

  /** Number of bytes the data takes in raw_data layout (without reading external data). */
  get byteLength(): number {
    return rawByteLength(this.dtype, this.size) ?? this.rawBytes().length;
  }

  /**
   * The data as little-endian bytes (raw_data layout), decoded from whichever proto field holds it.
   * Zero-copy when the tensor came from raw_data.
   */
  rawBytes(): Uint8Array {
    if (this.raw) return this.raw;
    if (this.array) {
      this.raw = new Uint8Array(this.array.buffer, this.array.byteOffset, this.array.byteLength);
      if (!isLittleEndian) throw new QuantkitError('QK_UNSUPPORTED', 'quantkit needs a little-endian machine.');
      return this.raw;
    }
    if (this.isExternal) {
      if (!this.externalReader) {
        throw new QuantkitError(
          'QK_EXTERNAL_DATA',
          `Tensor ${this.name} keeps its data in an external file, but the model was not loaded from a path.`,
          { hint: 'Load the model with loadModel(path) so external data can be found next to it.' },
        );
      }
      this.raw = this.externalReader(this);
      return this.raw;
    }
    this.raw = fieldsToRaw(this);
    return this.raw;
  }

  /** The data as a typed array of the dtype's natural JS type (Uint16Array for float16 / bfloat16). */
  toArray(): NumericArray {
    if (this.array) return this.array;
    const Ctor = typedArrayCtor(this.dtype);
    if (!Ctor) {
      throw new QuantkitError('QK_UNSUPPORTED', `Tensor ${this.name}: dtype ${dtypeName(this.dtype)} has no typed array view.`);
    }
    const bytes = this.rawBytes();
    const count = this.size;
    if (bytes.byteLength < count * Ctor.BYTES_PER_ELEMENT) {
      throw new QuantkitError(
        'QK_TENSOR_DATA',
        `Tensor ${this.name}: ${bytes.byteLength} bytes of data for ${count} elements of ${dtypeName(this.dtype)}.`,
        { hint: 'The model file is damaged or was written by a faulty exporter.' },
      );
    }
    if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
      this.array = new Ctor(bytes.buffer, bytes.byteOffset, count);
    } else {
      const copy = new Uint8Array(count * Ctor.BYTES_PER_ELEMENT);
      copy.set(bytes.subarray(0, copy.length));
      this.array = new Ctor(copy.buffer, 0, count);
    }
    return this.array;
  }

  /** The data converted to float32 (a copy unless the tensor already is float32). */
  toFloat32(): Float32Array {
    const array = this.toArray();
    if (array instanceof Float32Array) return array;
    if (this.dtype === DataType.FLOAT16) return Float32Array.from(array as Uint16Array, halfToFloat);
    if (this.dtype === DataType.BFLOAT16) {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(array.length);
      for (let i = 0; i < array.length; i++) bits[i] = (array as Uint16Array)[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    if (array instanceof BigInt64Array || array instanceof BigUint64Array) {
      return Float32Array.from(array as ArrayLike<bigint>, (v) => Number(v));
    }
    return Float32Array.from(array as ArrayLike<number>);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Converts the typed proto fields (float_data, int32_data, …) of a decoded tensor to raw_data bytes. */
function fieldsToRaw(tensor: Tensor): Uint8Array {
  const proto = tensor.proto ?? {};
  const count = tensor.size;
  const dtype = tensor.dtype;
  const Ctor = typedArrayCtor(dtype);
  const asNumbers = (field: string) => (proto[field] as ArrayLike<unknown> | undefined) ?? [];
  if (!Ctor) {
    const length = rawByteLength(dtype, count);
    const packedInts = asNumbers('int32Data');
    if (length === undefined) return new Uint8Array(0);
    // Sub-byte and float8 types store their packed bytes in int32_data, one byte (or nibble pair) per entry.
    const out = new Uint8Array(length);
    for (let i = 0; i < Math.min(length, packedInts.length); i++) out[i] = Number(packedInts[i]) & 0xff;
    return out;
  }
  const out = new Ctor(count);
  switch (dtype) {
    case DataType.FLOAT:
      fill(out, asNumbers('floatData'), Number);
      break;
    case DataType.DOUBLE:
      fill(out, asNumbers('doubleData'), Number);
      break;
    case DataType.INT64:
      fill(out, asNumbers('int64Data'), (v) => BigInt.asIntN(64, BigInt(String(v))));
      break;
    case DataType.UINT64:
      fill(out, asNumbers('uint64Data'), (v) => BigInt.asUintN(64, BigInt(String(v))));
      break;
    case DataType.UINT32:
      fill(out, asNumbers('uint64Data'), Number);
      break;
    default:
      // int8/uint8/int16/uint16/int32/bool/float16/bfloat16 live in int32_data (16-bit floats as their bits).
      fill(out, asNumbers('int32Data'), Number);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function fill(out: NumericArray, source: ArrayLike<unknown>, convert: (v: unknown) => number | bigint): void {
  const n = Math.min(out.length, source.length);
  const target = out as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < n; i++) target[i] = convert(source[i]);
}
