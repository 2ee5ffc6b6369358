import { QuantkitError } from '../errors/quantkit-error.js';

/** The typed array that holds each dtype quantkit reads from `.npy` files. `bool` is one byte per value, 0 or 1. */
export interface NpyDataTypes {
  float32: Float32Array;
  float64: Float64Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}

export type NpyDtype = keyof NpyDataTypes;

/** A C-order (row-major) array; narrowing on `dtype` narrows `data`. */
export type NpyArray = { [D in NpyDtype]: { dtype: D; shape: number[]; data: NpyDataTypes[D] } }[NpyDtype];

interface DtypeInfo {
  /** numpy's `descr` without the byte-order character. */
  code: string;
  ctor: {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): NpyDataTypes[NpyDtype];
    readonly BYTES_PER_ELEMENT: number;
  };
}

const DTYPES = {
  float32: { code: 'f4', ctor: Float32Array },
  float64: { code: 'f8', ctor: Float64Array },
  int8: { code: 'i1', ctor: Int8Array },
  uint8: { code: 'u1', ctor: Uint8Array },
  int16: { code: 'i2', ctor: Int16Array },
  uint16: { code: 'u2', ctor: Uint16Array },
  int32: { code: 'i4', ctor: Int32Array },
  uint32: { code: 'u4', ctor: Uint32Array },
  int64: { code: 'i8', ctor: BigInt64Array },
  uint64: { code: 'u8', ctor: BigUint64Array },
  bool: { code: 'b1', ctor: Uint8Array },
} satisfies Record<NpyDtype, DtypeInfo>;

const BY_CODE = new Map<string, NpyDtype>(
  Object.entries(DTYPES).map(([dtype, info]) => [info.code, dtype as NpyDtype]),
);

export const NPY_DTYPES = Object.keys(DTYPES) as readonly NpyDtype[];

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy pads the header so the data starts on a 64-byte boundary; we do the same when writing. */
const HEADER_ALIGN = 64;

/** Bytes per element of a dtype. */
export function npyItemSize(dtype: NpyDtype): number {
  return DTYPES[dtype].ctor.BYTES_PER_ELEMENT;
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

function fail(file: string | undefined, what: string, hint?: string): never {
  const subject = file ?? 'NPY data';
  throw new QuantkitError('QK_CALIB_DATA', `${subject}: ${what}`, {
    subject,
    hint: hint ?? 'Write the array with numpy.save (C order, little-endian, a numeric dtype).',
  });
}

/**
 * Parses a NumPy `.npy` file (format versions 1.0, 2.0 and 3.0). Only little-endian, C-order arrays of the dtypes in
 * {@link NpyDataTypes}; anything else (big-endian, Fortran order, float16, pickled objects, structured dtypes) is a
 * `QK_CALIB_DATA` error naming `file`. When the data is aligned for its element type, `data` is a view on `bytes`
 * (no copy); otherwise it is a copy.
 */
export function parseNpy(bytes: Uint8Array, file?: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((byte, i) => bytes[i] !== byte)) {
    fail(
      file,
      bytes.length < 10 ? `is too short to be a .npy file (${bytes.length} bytes)` : 'is not a .npy file (bad magic)',
    );
  }
  const major = bytes[6];
  const minor = bytes[7];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(file, 'is truncated inside the .npy header');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    fail(file, `has .npy format version ${major}.${minor}; quantkit reads versions 1.0, 2.0 and 3.0`);
  }
  const dataOffset = headerStart + headerLength;
  if (dataOffset > bytes.length) {
    fail(file, `is truncated: the .npy header needs ${dataOffset} bytes but the file has ${bytes.length}`);
  }
  // Version 3.0 exists only to allow UTF-8 in structured field names; earlier versions are latin-1.
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataOffset));
  const { dtype, shape } = interpretHeader(headerText, file);

  const itemSize = npyItemSize(dtype);
  const count = shapeSize(shape);
  const byteLength = count * itemSize;
  if (!Number.isSafeInteger(byteLength)) fail(file, `has an impossible shape (${shape.join(', ')})`);
  const available = bytes.length - dataOffset;
  if (available < byteLength) {
    fail(
      file,
      `is truncated: shape (${shape.join(
        ', ',
      )}) of ${dtype} needs ${byteLength} data bytes but only ${available} follow the header`,
    );
  }
  if (available > byteLength) {
    fail(
      file,
      `has ${available - byteLength} bytes after the array data; one .npy file must hold exactly one array`,
      'Several numpy.save calls into one file are not supported: save each array to its own file, or use numpy.savez.',
    );
  }
  const ctor: DtypeInfo['ctor'] = DTYPES[dtype].ctor;
  const absolute = bytes.byteOffset + dataOffset;
  if (absolute % itemSize === 0) return { dtype, shape, data: new ctor(bytes.buffer, absolute, count) } as NpyArray;
  // Copy by hand: on a Node Buffer, `slice` returns a view of the same memory, not a copy.
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(dataOffset, dataOffset + byteLength));
  return { dtype, shape, data: new ctor(copy.buffer, 0, count) } as NpyArray;
}

function interpretHeader(text: string, file: string | undefined): { dtype: NpyDtype; shape: number[] } {
  let header: PyValue;
  try {
    header = parsePyLiteral(text);
  } catch (error) {
    fail(file, `has a malformed .npy header (${(error as Error).message}): ${JSON.stringify(text.trim())}`);
  }
  if (!(header instanceof Map))
    fail(file, `has a .npy header that is not a dictionary: ${JSON.stringify(text.trim())}`);
  const descr = header.get('descr');
  const fortranOrder = header.get('fortran_order');
  const shape = header.get('shape');
  if (descr === undefined || fortranOrder === undefined || shape === undefined) {
    fail(file, `has a .npy header without 'descr', 'fortran_order' and 'shape': ${JSON.stringify(text.trim())}`);
  }
  if (typeof descr !== 'string') {
    fail(
      file,
      'holds a structured (record) array; quantkit reads plain numeric arrays only',
      'Save each field as its own array.',
    );
  }
  if (fortranOrder !== false) {
    fail(
      file,
      'is stored in Fortran (column-major) order; quantkit reads C-order arrays only',
      'Save numpy.ascontiguousarray(array) instead.',
    );
  }
  if (
    !Array.isArray(shape) ||
    !shape.every((dim) => typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0)
  ) {
    fail(file, `has an invalid shape in its .npy header: ${JSON.stringify(text.trim())}`);
  }
  return { dtype: interpretDescr(descr, file), shape: shape as number[] };
}

function interpretDescr(descr: string, file: string | undefined): NpyDtype {
  const order = descr[0];
  const code = descr.slice(1);
  if (code === 'O') {
    fail(
      file,
      'holds a pickled object array (dtype object); quantkit never unpickles data',
      'Convert it to a numeric array first, e.g. numpy.save(path, array.astype(numpy.float32)).',
    );
  }
  const dtype = BY_CODE.get(code);
  if (dtype === undefined || (order !== '<' && order !== '>' && order !== '|')) {
    const hint = code === 'f2' ? ' (float16: convert it with array.astype(numpy.float32))' : '';
    fail(
      file,
      `has unsupported dtype '${descr}'${hint}; quantkit reads ${NPY_DTYPES.join(', ')}`,
      'Convert the array to one of the supported dtypes before saving it.',
    );
  }
  if (order === '>' && npyItemSize(dtype) > 1) {
    fail(
      file,
      `is big-endian ('${descr}'); quantkit reads little-endian data only`,
      `Convert it with array.astype('<${code}') before saving it.`,
    );
  }
  return dtype;
}

/** Encodes an array as a version 1.0 `.npy` file (2.0 if the header would not fit), data 64-byte aligned like numpy. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const { dtype, shape, data } = array;
  const info: DtypeInfo = DTYPES[dtype];
  if (!(data instanceof info.ctor))
    throw new TypeError(`encodeNpy: data of a ${dtype} array must be a ${info.ctor.name}`);
  if (data.length !== shapeSize(shape)) {
    throw new TypeError(
      `encodeNpy: shape (${shape.join(', ')}) needs ${shapeSize(shape)} elements, data has ${data.length}`,
    );
  }
  const order = npyItemSize(dtype) === 1 ? '|' : '<';
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${order}${info.code}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const version = 10 + dict.length + 1 <= 0xffff ? 1 : 2;
  const prefix = version === 1 ? 10 : 12;
  const headerLength = Math.ceil((prefix + dict.length + 1) / HEADER_ALIGN) * HEADER_ALIGN - prefix;
  const header = dict.padEnd(headerLength - 1, ' ') + '\n';

  const out = new Uint8Array(prefix + headerLength + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + headerLength);
  return out;
}

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/** Parses the Python literal subset numpy writes in `.npy` headers: dicts, tuples, lists, strings, ints, booleans. */
function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos] ?? '')) pos++;
  };
  const expect = (char: string): void => {
    skipSpace();
    if (text[pos] !== char) throw new Error(`expected '${char}' at offset ${pos}`);
    pos++;
  };
  const sequence = <T>(close: string, item: () => T): T[] => {
    const items: T[] = [];
    for (;;) {
      skipSpace();
      if (text[pos] === close) {
        pos++;
        return items;
      }
      items.push(item());
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) throw new Error(`expected ',' or '${close}' at offset ${pos}`);
    }
  };
  const value = (): PyValue => {
    skipSpace();
    const char = text[pos];
    if (char === '{') {
      pos++;
      const entries = sequence('}', () => {
        const key = value();
        if (typeof key !== 'string') throw new Error(`dictionary key at offset ${pos} is not a string`);
        expect(':');
        return [key, value()] as const;
      });
      return new Map(entries);
    }
    if (char === '(' || char === '[') {
      pos++;
      return sequence(char === '(' ? ')' : ']', value);
    }
    if (char === "'" || char === '"') {
      const end = text.indexOf(char, pos + 1);
      if (end < 0) throw new Error(`unterminated string at offset ${pos}`);
      const literal = text.slice(pos + 1, end);
      pos = end + 1;
      return literal;
    }
    const word = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(pos));
    if (word === null) throw new Error(`unexpected ${char === undefined ? 'end' : `'${char}'`} at offset ${pos}`);
    pos += word[0].length;
    if (word[1] !== undefined) return Number(word[1]);
    return word[2] === 'True' ? true : word[2] === 'False' ? false : null;
  };
  const result = value();
  skipSpace();
  if (pos !== text.length) throw new Error(`unexpected text at offset ${pos}`);
  return result;
}
