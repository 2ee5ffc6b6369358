import { Attribute, toAttribute, type AttributeInput } from '../ir/attribute.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { tensorType } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import {
  INTEGER_DOMAIN,
  INTEGER_OPSET_VERSION,
  type NarrowDtype,
  type OutDtype,
  type QuantizeRounding,
  type Unit,
} from './integer-ops.js';

/** Options shared by every integer-IR node. */
interface NodeBase {
  name?: string;
}

export interface QuantizeOptions extends NodeBase {
  scale: number;
  dtype: NarrowDtype;
  unit?: Unit;
  rounding?: QuantizeRounding;
}

export interface DequantizeOptions extends NodeBase {
  scale: number | readonly number[];
  axis?: number;
  unit?: Unit;
}

export interface RescaleOptions extends NodeBase {
  multiplier: readonly number[];
  shift: readonly number[];
  outDtype: NarrowDtype;
  axis?: number;
  relu?: boolean;
  clipMin?: number;
  clipMax?: number;
}

export interface GemmLikeOptions extends NodeBase {
  outDtype: OutDtype;
  xScale?: number;
  wScale?: readonly number[];
  outScale?: number;
  multiplier?: readonly number[];
  shift?: readonly number[];
  relu?: boolean;
  clipMin?: number;
  clipMax?: number;
  /** The op's own ONNX attributes (Conv: pads, strides, dilations, group, kernel_shape, auto_pad; Gemm: transA, transB). */
  attributes?: Record<string, AttributeInput>;
}

const ELEM_TYPE: Record<OutDtype, number> = {
  int8: DataType.INT8,
  int16: DataType.INT16,
  int32: DataType.INT32,
  float32: DataType.FLOAT,
};

/**
 * A GraphBuilder with one method per integer-IR op (integer-ops.ts): it writes scales as float attributes (an
 * integer-valued scale would otherwise become an INT attribute), strings for dtypes, and declares each output's
 * element type. `model()` imports the quantkit domain.
 */
export class IntegerGraphBuilder extends GraphBuilder {
  quantize(x: Value, options: QuantizeOptions): Value {
    const attributes: Attribute[] = [Attribute.float('scale', options.scale), Attribute.string('dtype', options.dtype)];
    if (options.unit) attributes.push(Attribute.string('unit', options.unit));
    if (options.rounding) attributes.push(Attribute.string('rounding', options.rounding));
    return this.integerNode('Quantize', [x], attributes, ELEM_TYPE[options.dtype], options.name);
  }

  dequantize(q: Value, options: DequantizeOptions): Value {
    const scale = typeof options.scale === 'number' ? [options.scale] : options.scale;
    const attributes: Attribute[] = [Attribute.floats('scale', scale)];
    if (options.axis !== undefined) attributes.push(Attribute.int('axis', options.axis));
    if (options.unit) attributes.push(Attribute.string('unit', options.unit));
    return this.integerNode('Dequantize', [q], attributes, DataType.FLOAT, options.name);
  }

  rescale(acc: Value, options: RescaleOptions): Value {
    const attributes: Attribute[] = [
      Attribute.ints('multiplier', options.multiplier),
      Attribute.ints('shift', options.shift),
      Attribute.string('out_dtype', options.outDtype),
    ];
    if (options.axis !== undefined) attributes.push(Attribute.int('axis', options.axis));
    attributes.push(...epilogue(options));
    return this.integerNode('Rescale', [acc], attributes, ELEM_TYPE[options.outDtype], options.name);
  }

  conv(x: Value, w: Value, bias: Value | undefined, options: GemmLikeOptions): Value {
    return this.gemmLike('Conv', bias ? [x, w, bias] : [x, w], options);
  }

  convTranspose(x: Value, w: Value, bias: Value | undefined, options: GemmLikeOptions): Value {
    return this.gemmLike('ConvTranspose', bias ? [x, w, bias] : [x, w], options);
  }

  gemm(a: Value, b: Value, c: Value | undefined, options: GemmLikeOptions): Value {
    return this.gemmLike('Gemm', c ? [a, b, c] : [a, b], options);
  }

  matmul(a: Value, b: Value, bias: Value | undefined, options: GemmLikeOptions): Value {
    return this.gemmLike('MatMul', bias ? [a, b, bias] : [a, b], options);
  }

  /** A VPU float island: quantkit::<opType> with the op's ONNX attributes and unit 'vpu'. */
  vpu(opType: string, inputs: readonly (Value | undefined)[], attributes: Record<string, AttributeInput> = {}, name?: string): Value {
    const list = Object.entries(attributes).map(([key, value]) => toAttr(key, value));
    list.push(Attribute.string('unit', 'vpu'));
    return this.integerNode(opType, inputs, list, DataType.FLOAT, name);
  }

  override model(opsetImports: Record<string, number> = { '': 21 }, irVersion = 10): Model {
    return super.model({ ...opsetImports, [INTEGER_DOMAIN]: INTEGER_OPSET_VERSION }, irVersion);
  }

  private gemmLike(opType: string, inputs: Value[], options: GemmLikeOptions): Value {
    const attributes = Object.entries(options.attributes ?? {}).map(([key, value]) => toAttr(key, value));
    attributes.push(Attribute.string('out_dtype', options.outDtype));
    if (options.xScale !== undefined) attributes.push(Attribute.float('x_scale', options.xScale));
    if (options.wScale) attributes.push(Attribute.floats('w_scale', options.wScale));
    if (options.outScale !== undefined) attributes.push(Attribute.float('out_scale', options.outScale));
    if (options.multiplier) attributes.push(Attribute.ints('multiplier', options.multiplier));
    if (options.shift) attributes.push(Attribute.ints('shift', options.shift));
    attributes.push(...epilogue(options));
    return this.integerNode(opType, inputs, attributes, ELEM_TYPE[options.outDtype], options.name);
  }

  private integerNode(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attributes: Attribute[],
    elemType: number,
    name?: string,
  ): Value {
    const [output] = this.node(opType, inputs, { name, domain: INTEGER_DOMAIN });
    for (const attribute of attributes) output!.producer()!.attributes.set(attribute.name, attribute);
    output!.type = tensorType(elemType);
    return output!;
  }
}

function epilogue(options: { relu?: boolean; clipMin?: number; clipMax?: number }): Attribute[] {
  const attributes: Attribute[] = [];
  if (options.relu) attributes.push(Attribute.int('relu', 1));
  if (options.clipMin !== undefined) attributes.push(Attribute.int('clip_min', options.clipMin));
  if (options.clipMax !== undefined) attributes.push(Attribute.int('clip_max', options.clipMax));
  return attributes;
}

/** Like toAttribute, except that float attributes (epsilon, alpha, …) stay floats when integer-valued. */
function toAttr(name: string, value: AttributeInput): Attribute {
  if (typeof value === 'number' && FLOAT_ATTRIBUTES.has(name)) return Attribute.float(name, value);
  return toAttribute(name, value);
}

const FLOAT_ATTRIBUTES = new Set(['epsilon', 'alpha', 'beta', 'gamma', 'lambd']);
