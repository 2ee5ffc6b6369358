import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { QuantkitError } from '../errors/quantkit-error.js';
import { crc32 } from './crc32.js';

/** One file of a ZIP archive, decompressed. */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const STORED = 0;
const DEFLATE = 8;
const FLAG_ENCRYPTED = 0x1;
const FLAG_UTF8 = 0x800;
/** 1980-01-01 00:00, the earliest DOS date, so that archives we write are byte-for-byte reproducible. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

function fail(file: string | undefined, what: string, hint?: string): never {
  const subject = file ?? 'ZIP data';
  throw new QuantkitError('QK_CALIB_DATA', `${subject}: ${what}`, {
    subject,
    hint: hint ?? 'Write the archive with numpy.savez or numpy.savez_compressed.',
  });
}

/**
 * Reads every file of a ZIP archive from its central directory. Supports stored and deflated entries and checks
 * each entry's CRC-32. ZIP64, encryption, spanned archives and other compression methods are `QK_CALIB_DATA`
 * errors naming `file`. Directory entries are skipped.
 */
export function readZip(bytes: Uint8Array, file?: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEndOfCentralDirectory(view);
  if (end < 0) fail(file, 'is not a ZIP archive (no end-of-central-directory record); is it really an .npz file?');
  const zip64 = (what: string): never =>
    fail(
      file,
      `is a ZIP64 archive (${what}); quantkit reads plain ZIP archives only (under 4 GiB, under 65535 entries)`,
      'Split the data into several smaller .npz files.',
    );
  if (end >= 20 && view.getUint32(end - 20, true) === ZIP64_LOCATOR) zip64('ZIP64 end-of-central-directory locator');
  if (view.getUint16(end + 4, true) !== 0 || view.getUint16(end + 6, true) !== 0) {
    fail(file, 'is a multi-part (spanned) ZIP archive; quantkit reads single-file archives only');
  }
  const count = view.getUint16(end + 10, true);
  const directorySize = view.getUint32(end + 12, true);
  const directoryOffset = view.getUint32(end + 16, true);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) zip64('directory fields');
  if (directoryOffset + directorySize > end)
    fail(file, 'is truncated or corrupt: its central directory lies outside the file');

  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  const entries: ZipEntry[] = [];
  let pos = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (pos + 46 > end || view.getUint32(pos, true) !== CENTRAL_HEADER) {
      fail(file, `is corrupt: central directory entry ${i} is malformed`);
    }
    const flags = view.getUint16(pos + 8, true);
    const method = view.getUint16(pos + 10, true);
    const expectedCrc = view.getUint32(pos + 16, true);
    const compressedSize = view.getUint32(pos + 20, true);
    const size = view.getUint32(pos + 24, true);
    const nameLength = view.getUint16(pos + 28, true);
    const extraLength = view.getUint16(pos + 30, true);
    const commentLength = view.getUint16(pos + 32, true);
    const localOffset = view.getUint32(pos + 42, true);
    // Names without the UTF-8 flag are CP437; latin-1 agrees with it on ASCII, which covers tensor names in practice.
    const name = (flags & FLAG_UTF8 ? utf8 : latin1).decode(bytes.subarray(pos + 46, pos + 46 + nameLength));
    pos += 46 + nameLength + extraLength + commentLength;
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) zip64(`entry '${name}'`);
    if (name.endsWith('/')) continue;
    if (flags & FLAG_ENCRYPTED) fail(file, `entry '${name}' is encrypted; quantkit reads unencrypted archives only`);
    if (method !== STORED && method !== DEFLATE) {
      fail(file, `entry '${name}' uses compression method ${method}; quantkit reads stored and deflated entries only`);
    }
    if (localOffset + 30 > bytes.length || view.getUint32(localOffset, true) !== LOCAL_HEADER) {
      fail(file, `is corrupt: the local header of entry '${name}' is missing`);
    }
    // The local header's extra field may differ from the central one (numpy writes a ZIP64 extra only there).
    const dataStart =
      localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (dataStart + compressedSize > bytes.length) fail(file, `is truncated inside entry '${name}'`);
    const raw = bytes.subarray(dataStart, dataStart + compressedSize);
    let data: Uint8Array;
    if (method === STORED) {
      data = raw;
    } else {
      try {
        // The declared size bounds the output, so a corrupt or hostile entry cannot exhaust memory.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
      } catch (error) {
        throw new QuantkitError(
          'QK_CALIB_DATA',
          `${file ?? 'ZIP data'}: entry '${name}' is corrupt (${(error as Error).message})`,
          {
            subject: file,
            cause: error,
            hint: 'Write the archive again with numpy.savez or numpy.savez_compressed.',
          },
        );
      }
    }
    if (data.length !== size) fail(file, `entry '${name}' is corrupt: ${data.length} bytes instead of ${size}`);
    if (crc32(data) !== expectedCrc) fail(file, `entry '${name}' is corrupt (CRC-32 mismatch)`);
    entries.push({ name, data });
  }
  return entries;
}

function findEndOfCentralDirectory(view: DataView): number {
  const last = view.byteLength - 22;
  for (let pos = last; pos >= 0 && pos >= last - 0xffff; pos--) {
    if (
      view.getUint32(pos, true) === END_OF_CENTRAL_DIRECTORY &&
      pos + 22 + view.getUint16(pos + 20, true) === view.byteLength
    ) {
      return pos;
    }
  }
  return -1;
}

/**
 * Writes a ZIP archive; entries are stored, or deflated with `compress`. Timestamps are fixed, so equal input gives
 * equal bytes. Throws for archives that would need ZIP64.
 */
export function encodeZip(entries: readonly ZipEntry[], options: { compress?: boolean } = {}): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = encoder.encode(name);
    const body = options.compress ? deflateRawSync(data) : data;
    if (offset > 0xfffffffe || data.length > 0xfffffffe || body.length > 0xfffffffe) {
      throw new RangeError('encodeZip: archive too large (ZIP64 is not supported)');
    }
    const flags = /^[\x20-\x7e]*$/.test(name) ? 0 : FLAG_UTF8;
    const method = options.compress ? DEFLATE : STORED;
    const crc = crc32(data);

    const local = new Uint8Array(30 + nameBytes.length + body.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, LOCAL_HEADER, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, flags, true);
    lv.setUint16(8, method, true);
    lv.setUint16(12, DOS_DATE, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    local.set(body, 30 + nameBytes.length);

    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, CENTRAL_HEADER, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, method, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);

    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  if (entries.length > 0xfffe) throw new RangeError('encodeZip: too many entries (ZIP64 is not supported)');
  const directorySize = centrals.reduce((sum, c) => sum + c.length, 0);
  const endRecord = new Uint8Array(22);
  const ev = new DataView(endRecord.buffer);
  ev.setUint32(0, END_OF_CENTRAL_DIRECTORY, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, directorySize, true);
  ev.setUint32(16, offset, true);

  const out = new Uint8Array(offset + directorySize + 22);
  let pos = 0;
  for (const part of [...locals, ...centrals, endRecord]) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
