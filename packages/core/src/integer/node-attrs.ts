import { QuantkitError } from '../errors/quantkit-error.js';
import { AttributeType } from '../ir/attribute.js';
import type { Node } from '../ir/node.js';
import { isOutDtype, MULTIPLIER_BITS, type NarrowDtype, type OutDtype, type QuantizeRounding } from './integer-ops.js';
import { checkRescaleParams, outputBounds, SCALE_SHIFT_MAX_SHIFT, type ClipBounds, type OutputBounds, type RescaleParams } from './requant.js';

/**
 * Reads the attributes of integer-IR nodes into checked records. The interpreter and the onnxruntime lowering both
 * read nodes through here, so they cannot disagree about defaults or validation.
 */

function attributeError(node: Node, message: string, hint?: string): QuantkitError {
  return new QuantkitError('QK_ATTRIBUTE', `Node ${node.describe()}: ${message}`, { subject: node.name, hint });
}

export function stringAttr(node: Node, name: string): string | undefined;
export function stringAttr(node: Node, name: string, fallback: string): string;
export function stringAttr(node: Node, name: string, fallback?: string): string | undefined {
  const attribute = node.attribute(name);
  if (!attribute) return fallback;
  if (attribute.type !== AttributeType.STRING) throw attributeError(node, `attribute ${name} must be a string`);
  return attribute.asString();
}

export function intAttr(node: Node, name: string): number | undefined;
export function intAttr(node: Node, name: string, fallback: number): number;
export function intAttr(node: Node, name: string, fallback?: number): number | undefined {
  const attribute = node.attribute(name);
  if (!attribute) return fallback;
  if (attribute.type !== AttributeType.INT) throw attributeError(node, `attribute ${name} must be an int`);
  return attribute.asNumber();
}

export function intsAttr(node: Node, name: string): number[] | undefined {
  const attribute = node.attribute(name);
  if (!attribute) return undefined;
  if (attribute.type !== AttributeType.INTS) throw attributeError(node, `attribute ${name} must be a list of ints`);
  return attribute.asNumbers();
}

/** A float attribute as the float32 the file stores. */
export function floatAttr(node: Node, name: string): number | undefined {
  const attribute = node.attribute(name);
  if (!attribute) return undefined;
  if (attribute.type !== AttributeType.FLOAT && attribute.type !== AttributeType.INT) {
    throw attributeError(node, `attribute ${name} must be a float`);
  }
  return Math.fround(attribute.asNumber());
}

/** A float list (or a single float) as the float32 values the file stores. */
export function floatsAttr(node: Node, name: string): number[] | undefined {
  const attribute = node.attribute(name);
  if (!attribute) return undefined;
  if (attribute.type === AttributeType.FLOAT || attribute.type === AttributeType.INT) {
    return [Math.fround(attribute.asNumber())];
  }
  if (attribute.type !== AttributeType.FLOATS && attribute.type !== AttributeType.INTS) {
    throw attributeError(node, `attribute ${name} must be a list of floats`);
  }
  return attribute.asNumbers().map(Math.fround);
}

function requiredScales(node: Node, name: string): number[] {
  const scales = floatsAttr(node, name);
  if (!scales || scales.length === 0) throw attributeError(node, `attribute ${name} is missing`);
  for (const scale of scales) {
    if (!(scale > 0 && scale < Infinity)) throw attributeError(node, `${name} ${scale} is not a positive finite scale`);
  }
  return scales;
}

function narrowDtype(node: Node, name: string): NarrowDtype {
  const dtype = stringAttr(node, name);
  if (dtype !== 'int8' && dtype !== 'int16') {
    throw attributeError(node, `${name} must be 'int8' or 'int16', got ${dtype === undefined ? 'nothing' : `'${dtype}'`}`);
  }
  return dtype;
}

function flag(node: Node, name: string): boolean {
  const value = intAttr(node, name, 0);
  if (value !== 0 && value !== 1) throw attributeError(node, `${name} must be 0 or 1, got ${value}`);
  return value === 1;
}

function clipAttrs(node: Node): ClipBounds {
  return { min: intAttr(node, 'clip_min'), max: intAttr(node, 'clip_max') };
}

export interface QuantizeAttrs {
  scale: number;
  dtype: NarrowDtype;
  rounding: QuantizeRounding;
}

export function quantizeAttrs(node: Node): QuantizeAttrs {
  const scales = requiredScales(node, 'scale');
  if (scales.length !== 1) throw attributeError(node, 'Quantize takes one scale (per tensor)');
  const rounding = stringAttr(node, 'rounding', 'half_even');
  if (rounding !== 'half_even' && rounding !== 'bpu') {
    throw attributeError(node, `rounding must be 'half_even' or 'bpu', got '${rounding}'`);
  }
  return { scale: scales[0]!, dtype: narrowDtype(node, 'dtype'), rounding };
}

export interface DequantizeAttrs {
  scale: number[];
  axis: number;
}

export function dequantizeAttrs(node: Node): DequantizeAttrs {
  return { scale: requiredScales(node, 'scale'), axis: intAttr(node, 'axis', 1) };
}

export interface RescaleAttrs extends RescaleParams {
  axis: number;
}

export function rescaleAttrs(node: Node): RescaleAttrs {
  const multiplier = intsAttr(node, 'multiplier');
  const shift = intsAttr(node, 'shift');
  if (!multiplier || !shift) throw attributeError(node, 'multiplier and shift are required');
  const attrs: RescaleAttrs = {
    multiplier,
    shift,
    outDtype: narrowDtype(node, 'out_dtype'),
    relu: flag(node, 'relu'),
    clip: clipAttrs(node),
    axis: intAttr(node, 'axis', 1),
  };
  checkRescaleParams(attrs, undefined, `Node ${node.describe()}`);
  return attrs;
}

/** A GEMM's acc_shift (integer-ops.ts): 0 when absent; at most 30, so that 2^acc_shift and the sums stay exact. */
export function accShiftAttr(node: Node): number {
  const shift = intAttr(node, 'acc_shift', 0);
  if (!Number.isInteger(shift) || shift < 0 || shift > 30) throw attributeError(node, `acc_shift must be in [0, 30], got ${shift}`);
  return shift;
}

/** The output stage of a quantkit Conv / Gemm / MatMul. */
export interface GemmOutputAttrs {
  outDtype: OutDtype;
  relu: boolean;
  clip: ClipBounds;
  /** int8 / int16 outputs. */
  rescale?: RescaleParams;
  /** float32 outputs: float32(x_scale · w_scale[c]), one per channel or one. */
  floatScale?: Float32Array;
  /** int32 / float32 outputs: bounds on the accumulator. */
  accBounds?: OutputBounds;
}

/** Reads and checks the output stage of a GEMM-like node with `channels` output channels (when known). */
export function gemmOutputAttrs(node: Node, channels: number | undefined): GemmOutputAttrs {
  const outDtype = stringAttr(node, 'out_dtype');
  if (outDtype === undefined || !isOutDtype(outDtype)) {
    throw attributeError(node, `out_dtype must be one of int8, int16, int32, float32, got ${outDtype ?? 'nothing'}`);
  }
  const relu = flag(node, 'relu');
  const clip = clipAttrs(node);
  const what = `Node ${node.describe()}`;
  const perChannel = (name: string, length: number) => {
    if (length > 1 && channels !== undefined && length !== channels) {
      throw attributeError(node, `${name} has ${length} values for ${channels} output channels`);
    }
  };
  if (outDtype === 'int8' || outDtype === 'int16') {
    const multiplier = intsAttr(node, 'multiplier');
    const shift = intsAttr(node, 'shift');
    if (!multiplier || !shift) throw attributeError(node, `an ${outDtype} output needs multiplier and shift`);
    const rescale: RescaleParams = { multiplier, shift, outDtype, relu, clip };
    checkRescaleParams(rescale, channels, what);
    return { outDtype, relu, clip, rescale };
  }
  const accBounds = outputBounds('int32', relu, clip, what);
  if (outDtype === 'int32') return { outDtype, relu, clip, accBounds };
  const xScale = requiredScales(node, 'x_scale');
  const wScale = requiredScales(node, 'w_scale');
  if (xScale.length !== 1) throw attributeError(node, 'x_scale must be one value');
  perChannel('w_scale', wScale.length);
  const floatScale = Float32Array.from(wScale, (w) => Math.fround(xScale[0]! * w));
  return { outDtype, relu, clip, floatScale, accBounds };
}

/** Conv attributes with ONNX defaults filled in for `spatial` spatial dims. */
export interface ConvAttrs {
  autoPad: string;
  group: number;
  strides: number[];
  dilations: number[];
  /** begin pads then end pads, as ONNX. */
  pads: number[];
  kernelShape: number[] | undefined;
}

export function convAttrs(node: Node, spatial: number): ConvAttrs {
  const ones = Array.from({ length: spatial }, () => 1);
  const attrs: ConvAttrs = {
    autoPad: stringAttr(node, 'auto_pad', 'NOTSET'),
    group: intAttr(node, 'group', 1),
    strides: intsAttr(node, 'strides') ?? ones,
    dilations: intsAttr(node, 'dilations') ?? ones,
    pads: intsAttr(node, 'pads') ?? Array.from({ length: 2 * spatial }, () => 0),
    kernelShape: intsAttr(node, 'kernel_shape'),
  };
  if (attrs.strides.length !== spatial || attrs.dilations.length !== spatial || attrs.pads.length !== 2 * spatial) {
    throw attributeError(node, `strides / dilations / pads do not match ${spatial} spatial dims`);
  }
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(attrs.autoPad)) {
    throw attributeError(node, `auto_pad '${attrs.autoPad}' is not an ONNX auto_pad`);
  }
  if (attrs.group < 1) throw attributeError(node, `group ${attrs.group} must be at least 1`);
  return attrs;
}

/**
 * Output size and begin / end pads of one spatial dim (ONNX Conv / MaxPool rules, auto_pad included). `ceil` is
 * MaxPool's ceil_mode.
 */
export function spatialOutput(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
  autoPad: string,
  ceil = false,
): { out: number; padBegin: number; padEnd: number } {
  const span = (kernel - 1) * dilation + 1;
  if (autoPad === 'VALID') return { out: Math.floor((size - span) / stride) + 1, padBegin: 0, padEnd: 0 };
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const out = Math.ceil(size / stride);
    const total = Math.max(0, (out - 1) * stride + span - size);
    const small = Math.floor(total / 2);
    const begin = autoPad === 'SAME_UPPER' ? small : total - small;
    return { out, padBegin: begin, padEnd: total - begin };
  }
  const room = size + padBegin + padEnd - span;
  let out = (ceil ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // ceil_mode: the last window must start inside the input or its begin padding.
  if (ceil && (out - 1) * stride >= size + padBegin) out--;
  return { out, padBegin, padEnd };
}

/** ConvTranspose attributes: Conv's plus output_padding and output_shape (ONNX defaults filled in). */
export interface ConvTransposeAttrs extends ConvAttrs {
  outputPadding: number[];
  outputShape: number[] | undefined;
}

export function convTransposeAttrs(node: Node, spatial: number): ConvTransposeAttrs {
  const attrs = convAttrs(node, spatial);
  const outputPadding = intsAttr(node, 'output_padding') ?? Array.from({ length: spatial }, () => 0);
  const outputShape = intsAttr(node, 'output_shape');
  if (outputPadding.length !== spatial) throw attributeError(node, `output_padding does not match ${spatial} spatial dims`);
  if (outputShape && outputShape.length !== spatial && outputShape.length !== spatial + 2) {
    throw attributeError(node, `output_shape has ${outputShape.length} values for ${spatial} spatial dims`);
  }
  return { ...attrs, outputPadding, outputShape: outputShape?.slice(-spatial) };
}

/**
 * Output size and begin pad of one spatial dim of a ConvTranspose (ONNX rules): with output_shape (or auto_pad
 * SAME_*, whose output is size · stride) the total padding is stride · (size − 1) + output_padding + span − out,
 * split half and half (the odd one at the end for SAME_UPPER / NOTSET, at the begin for SAME_LOWER); otherwise
 * out = stride · (size − 1) + output_padding + span − pad_begin − pad_end.
 */
export function transposedOutput(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
  outputPadding: number,
  autoPad: string,
  outputShape: number | undefined,
): { out: number; padBegin: number } {
  const span = (kernel - 1) * dilation + 1;
  const full = stride * (size - 1) + outputPadding + span;
  const target = outputShape ?? (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' ? size * stride : undefined);
  if (target === undefined) {
    return autoPad === 'VALID' ? { out: full, padBegin: 0 } : { out: full - padBegin - padEnd, padBegin };
  }
  const total = full - target;
  const begin = autoPad === 'SAME_LOWER' ? total - Math.floor(total / 2) : Math.floor(total / 2);
  return { out: target, padBegin: begin };
}


export interface ScaleShiftAttrs {
  multiplier: number[];
  shift: number[];
  offset: number[];
  axis: number;
  outDtype: NarrowDtype;
}

/** Reads and checks a quantkit::ScaleShift: one (multiplier, shift, offset) per channel or one, as encodeScaleShift makes them. */
export function scaleShiftAttrs(node: Node): ScaleShiftAttrs {
  const multiplier = intsAttr(node, 'multiplier');
  const shift = intsAttr(node, 'shift');
  const offset = intsAttr(node, 'offset');
  if (!multiplier || !shift || !offset) throw attributeError(node, 'multiplier, shift and offset are required');
  if (multiplier.length === 0 || shift.length !== multiplier.length || offset.length !== multiplier.length) {
    throw attributeError(node, `${multiplier.length} multipliers, ${shift.length} shifts and ${offset.length} offsets; they must pair up`);
  }
  for (let c = 0; c < multiplier.length; c++) {
    const [m, s, o] = [multiplier[c]!, shift[c]!, offset[c]!];
    if (!(Number.isInteger(s) && s >= 1 && s <= SCALE_SHIFT_MAX_SHIFT) || !(Math.abs(m) < 2 ** MULTIPLIER_BITS) || !(Math.abs(o) < 2 ** 52)) {
      throw attributeError(
        node,
        `channel ${c}: multiplier ${m}, shift ${s}, offset ${o} is not an encoding of encodeScaleShift (|multiplier| < 2^${MULTIPLIER_BITS}, shift in [1, ${SCALE_SHIFT_MAX_SHIFT}], |offset| < 2^52)`,
      );
    }
  }
  return { multiplier, shift, offset, axis: intAttr(node, 'axis', 1), outDtype: narrowDtype(node, 'out_dtype') };
}
