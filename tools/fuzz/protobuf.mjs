// Protobuf wire-format walking, for mutations below the ONNX schema: the fields of a message and of the
// length-delimited fields that themselves parse as messages.

function readVarint(bytes, pos) {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= bytes.length) return undefined;
    const b = bytes[pos + i];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return { value, end: pos + i + 1 };
  }
  return undefined;
}

export function encodeVarint(value) {
  const out = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Uint8Array.from(out);
}

/**
 * Every field of the message in bytes[start, end), recursing into length-delimited fields that parse completely
 * as messages (depth-limited). Each field: { start, valueStart, end, wireType, lengthStart? }.
 */
export function walkFields(bytes, start = 0, end = bytes.length, depth = 0, out = []) {
  let pos = start;
  const local = [];
  while (pos < end) {
    const key = readVarint(bytes, pos);
    if (!key || key.end > end || key.value === 0) return undefined;
    const wireType = key.value % 8;
    let field;
    if (wireType === 0) {
      const v = readVarint(bytes, key.end);
      if (!v || v.end > end) return undefined;
      field = { start: pos, valueStart: key.end, end: v.end, wireType };
    } else if (wireType === 2) {
      const len = readVarint(bytes, key.end);
      if (!len || len.end + len.value > end) return undefined;
      field = { start: pos, lengthStart: key.end, valueStart: len.end, end: len.end + len.value, wireType };
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      if (key.end + size > end) return undefined;
      field = { start: pos, valueStart: key.end, end: key.end + size, wireType };
    } else {
      return undefined;
    }
    local.push(field);
    pos = field.end;
  }
  for (const field of local) {
    out.push(field);
    if (field.wireType === 2 && depth < 8 && field.end - field.valueStart > 1) {
      const inner = walkFields(bytes, field.valueStart, field.end, depth + 1, []);
      if (inner) out.push(...inner);
    }
  }
  return out;
}

export function splice(bytes, start, end, insert) {
  const out = new Uint8Array(bytes.length - (end - start) + insert.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(insert, start);
  out.set(bytes.subarray(end), start + insert.length);
  return out;
}
