import { QuantkitError } from '../errors/quantkit-error.js';
import { Attribute, AttributeType } from '../ir/attribute.js';
import { DataType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { Node, type NodeInit } from '../ir/node.js';
import { tensorElemType, tensorShape, tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { INTEGER_DOMAIN, type IntegerDtype, type NarrowDtype, type OutDtype, type Unit } from '../integer/integer-ops.js';
import { encodeMultipliers, type ClipBounds } from '../integer/requant.js';

/**
 * Reading and writing the nodes of the integer IR (integer-ops.ts) for convert and its passes: one place that
 * knows the attribute names, so a pass never spells them itself.
 */

export type IntegerGemmOp = 'Conv' | 'ConvTranspose' | 'Gemm' | 'MatMul';

const INTEGER_GEMM_OPS: readonly string[] = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];

/** ONNX element type of each integer IR dtype. */
export const ONNX_DTYPE: Record<OutDtype, number> = {
  int8: DataType.INT8,
  int16: DataType.INT16,
  int32: DataType.INT32,
  float32: DataType.FLOAT,
};

/** The integer IR's name of an ONNX integer element type, or undefined for any other type. */
export function integerDtypeName(elemType: number | undefined): IntegerDtype | undefined {
  switch (elemType) {
    case DataType.INT8:
      return 'int8';
    case DataType.INT16:
      return 'int16';
    case DataType.INT32:
      return 'int32';
    default:
      return undefined;
  }
}

/** A quantkit-domain node, optionally of one op type. */
export function isQuantkitNode(node: Node | undefined, opType?: string): boolean {
  return node !== undefined && node.domain === INTEGER_DOMAIN && (opType === undefined || node.opType === opType);
}

/** A quantkit Conv / ConvTranspose / Gemm / MatMul. */
export function isIntegerGemm(node: Node | undefined): boolean {
  return node !== undefined && isQuantkitNode(node) && INTEGER_GEMM_OPS.includes(node.opType);
}

export function stringAttribute(node: Node, name: string): string | undefined {
  const attribute = node.attribute(name);
  return attribute?.type === AttributeType.STRING ? attribute.asString() : undefined;
}

export function intAttribute(node: Node, name: string): number | undefined {
  const attribute = node.attribute(name);
  return attribute?.type === AttributeType.INT ? attribute.asNumber() : undefined;
}

/** A float or float list attribute as float32 values (what the file stores). */
export function floatsAttribute(node: Node, name: string): number[] | undefined {
  const attribute = node.attribute(name);
  if (!attribute) return undefined;
  if (attribute.type === AttributeType.FLOAT || attribute.type === AttributeType.INT) return [Math.fround(attribute.asNumber())];
  if (attribute.type === AttributeType.FLOATS || attribute.type === AttributeType.INTS) {
    return attribute.asNumbers().map(Math.fround);
  }
  return undefined;
}

export function intsAttribute(node: Node, name: string): number[] | undefined {
  const attribute = node.attribute(name);
  return attribute?.type === AttributeType.INTS ? attribute.asNumbers() : undefined;
}

/** The scale(s) of a quantkit Quantize / Dequantize, and the channel axis (default 1) of a per-channel one. */
export function scalesOf(node: Node): { scale: number[]; axis: number } {
  const scale = floatsAttribute(node, 'scale');
  if (!scale || scale.length === 0) {
    throw new QuantkitError('QK_ATTRIBUTE', `${node.describe()} has no scale attribute.`, { subject: node.name });
  }
  return { scale, axis: intAttribute(node, 'axis') ?? 1 };
}

/**
 * The output channel axis of a quantkit GEMM: 1 for Conv (NCHW) and Gemm (rank 2), the last axis (-1) for MatMul,
 * whose rank follows its input's.
 */
export function gemmChannelAxis(opType: string): number {
  return opType === 'MatMul' ? -1 : 1;
}

/** Whether two axes name the same axis of a GEMM output (-1 and 1 coincide for rank-2 Gemm outputs). */
export function sameChannelAxis(opType: string, axis: number): boolean {
  const expected = gemmChannelAxis(opType);
  return axis === expected || (opType === 'Gemm' && axis === -1);
}

/**
 * The integer type of a value in the integer IR, when it can be told: a declared type, a constant's, or what its
 * producer emits (Quantize / Rescale / Lut / Epilogue / ScaleShift / a GEMM's out_dtype, a pass-through op's input).
 */
export function integerDtypeOf(value: Value | undefined): IntegerDtype | undefined {
  for (let current = value, steps = 0; current && steps < 1000; steps++) {
    const declared = integerDtypeName(tensorElemType(current.type) ?? current.constValue?.dtype);
    if (declared) return declared;
    const producer = current.producer();
    if (!producer) return undefined;
    if (isQuantkitNode(producer, 'Quantize')) return narrow(stringAttribute(producer, 'dtype'));
    if (['Rescale', 'Lut', 'Epilogue', 'ScaleShift'].some((op) => isQuantkitNode(producer, op))) {
      return narrow(stringAttribute(producer, 'out_dtype'));
    }
    if (isIntegerGemm(producer)) {
      const out = stringAttribute(producer, 'out_dtype');
      return out === 'int8' || out === 'int16' || out === 'int32' ? out : undefined;
    }
    if (producer.domain !== '' && producer.domain !== 'ai.onnx') return undefined;
    current = producer.inputs[0];
  }
  return undefined;
}

function narrow(dtype: string | undefined): NarrowDtype | undefined {
  return dtype === 'int8' || dtype === 'int16' ? dtype : undefined;
}

/** Gives `value` the element type `elemType`, keeping its shape when one is declared. */
export function setElemType(value: Value, elemType: number): void {
  value.type = tensorType(elemType, tensorShape(value.type));
}

/**
 * Puts a new node where `old` is: it takes over old's outputs (the same Values, so names and uses stay) and old
 * leaves the graph. `init.outputs` must not be given.
 */
export function replaceNode(old: Node, init: Omit<NodeInit, 'outputs'>): Node {
  const graph = old.graph;
  if (!graph) throw new QuantkitError('QK_IR_MISUSE', `${old.describe()} is not in a graph.`);
  const outputs = old.outputs.map((value, index) => {
    old.replaceOutput(index, new Value(''));
    return value;
  });
  const node = new Node({ ...init, outputs });
  graph.insertBefore(old, node);
  graph.remove(old, { force: true });
  return node;
}

export interface QuantizeInit {
  scale: number;
  dtype: NarrowDtype;
  unit: Unit;
}

export function quantizeAttributes({ scale, dtype, unit }: QuantizeInit): Attribute[] {
  return [Attribute.float('scale', Math.fround(scale)), Attribute.string('dtype', dtype), Attribute.string('unit', unit)];
}

export interface DequantizeInit {
  /** One scale, or one per channel along `axis`. */
  scale: ArrayLike<number>;
  axis?: number;
  unit: Unit;
}

export function dequantizeAttributes({ scale, axis, unit }: DequantizeInit): Attribute[] {
  const attributes: Attribute[] = [Attribute.floats('scale', Array.from(scale, Math.fround))];
  if (scale.length > 1) attributes.push(Attribute.int('axis', axis ?? 1));
  attributes.push(Attribute.string('unit', unit));
  return attributes;
}

export interface RescaleInit {
  /** The real multipliers M = s_in / s_out, one or one per channel along `axis`. */
  m: ArrayLike<number>;
  axis?: number;
  outDtype: NarrowDtype;
  relu?: boolean;
  clip?: ClipBounds;
  /** The scale of the output: informative (Netron, folding into a GEMM's out_scale). */
  outScale?: number;
  unit?: Unit;
  /** Names the tensor in encoding errors. */
  what?: string;
}

/** Attributes of a quantkit Rescale: M encoded as multiplier / shift (requant.ts). */
export function rescaleAttributes(init: RescaleInit): Attribute[] {
  const { multiplier, shift } = encodeMultipliers(init.m, init.what);
  const attributes: Attribute[] = [Attribute.ints('multiplier', multiplier), Attribute.ints('shift', shift)];
  if (multiplier.length > 1) attributes.push(Attribute.int('axis', init.axis ?? 1));
  attributes.push(Attribute.string('out_dtype', init.outDtype));
  if (init.relu) attributes.push(Attribute.int('relu', 1));
  attributes.push(...clipAttributes(init.clip));
  if (init.outScale !== undefined) attributes.push(Attribute.float('out_scale', Math.fround(init.outScale)));
  if (init.unit) attributes.push(Attribute.string('unit', init.unit));
  return attributes;
}

export function clipAttributes(clip: ClipBounds | undefined): Attribute[] {
  const attributes: Attribute[] = [];
  if (clip?.min !== undefined) attributes.push(Attribute.int('clip_min', clip.min));
  if (clip?.max !== undefined) attributes.push(Attribute.int('clip_max', clip.max));
  return attributes;
}

/** The clip_min / clip_max of a node, when set. */
export function clipOf(node: Node): ClipBounds {
  return { min: intAttribute(node, 'clip_min'), max: intAttribute(node, 'clip_max') };
}

export function setUnit(node: Node, unit: Unit): void {
  node.attributes.set('unit', Attribute.string('unit', unit));
}

/** Removes `node` when none of its outputs is used or a graph output; says whether it did. */
export function removeIfUnused(graph: Graph, node: Node): boolean {
  if (!node.graph) return false;
  if (node.outputs.some((value) => value.useCount > 0 || value.isGraphOutput())) return false;
  graph.remove(node);
  return true;
}
