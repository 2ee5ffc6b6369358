import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Node } from '../ir/node.js';
import { numbers, sizeOf, stridesOf, zeros } from './ndarray.js';
import { stringAttr } from './node-attrs.js';

/**
 * ONNX Resize (opset 11 and later, inputs X, roi, scales, sizes) for the interpreter, in two modes:
 * 1. `nearest`: every output element copies one input element, so it runs on any dtype and an integer tensor keeps
 *    its scale (a pass-through op on integer codes); coordinates are computed in float32 as onnxruntime does.
 * 2. `linear`: multilinear interpolation of a float32 tensor (a VPU island), axis by axis over the resized axes.
 * Output sizes are `sizes` when given, else floor(input · scale). Coordinate transformation modes: half_pixel (the
 * default), asymmetric, align_corners, pytorch_half_pixel, tf_half_pixel_for_nearest. Other modes (cubic,
 * tf_crop_and_resize, a keep_aspect_ratio_policy, axes) are refused with QK_UNSUPPORTED.
 */
export function resizeKernel(node: Node, inputs: readonly (NpyArray | undefined)[]): NpyArray {
  const x = inputs[0];
  if (!x) throw fail(node, 'input 0 is missing');
  const mode = stringAttr(node, 'mode', 'nearest');
  const transform = stringAttr(node, 'coordinate_transformation_mode', 'half_pixel');
  const nearestMode = stringAttr(node, 'nearest_mode', 'round_prefer_floor');
  if (mode !== 'nearest' && mode !== 'linear') throw unsupported(node, `mode '${mode}'`);
  if (!TRANSFORMS.has(transform)) throw unsupported(node, `coordinate_transformation_mode '${transform}'`);
  if (node.attribute('axes') || stringAttr(node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') {
    throw unsupported(node, 'axes / keep_aspect_ratio_policy');
  }
  if (mode === 'linear' && x.dtype !== 'float32') throw fail(node, `linear Resize runs on float32, got ${x.dtype}`);
  const rank = x.shape.length;
  const scalesIn = inputs[2] && inputs[2].data.length > 0 ? Array.from(numbers(inputs[2])) : undefined;
  const sizesIn = inputs[3] && inputs[3].data.length > 0 ? Array.from(numbers(inputs[3])) : undefined;
  if ((sizesIn ?? scalesIn)?.length !== rank) throw fail(node, `needs ${rank} scales or sizes`);
  const outShape = sizesIn ?? x.shape.map((d, i) => Math.floor(d * scalesIn![i]!));
  const scales = sizesIn ? sizesIn.map((d, i) => Math.fround(d / x.shape[i]!)) : scalesIn!.map(Math.fround);

  const original = (axis: number, index: number): number => {
    const f = Math.fround;
    const [inLen, outLen, scale] = [x.shape[axis]!, outShape[axis]!, scales[axis]!];
    switch (transform) {
      case 'asymmetric':
        return f(index / scale);
      case 'align_corners':
        return outLen === 1 ? 0 : f(f(index * (inLen - 1)) / (outLen - 1));
      case 'pytorch_half_pixel':
        return outLen > 1 ? f(f(f(index + 0.5) / scale) - 0.5) : 0;
      case 'tf_half_pixel_for_nearest':
        return f(f(index + 0.5) / scale);
      default:
        return f(f(f(index + 0.5) / scale) - 0.5);
    }
  };
  const inStrides = stridesOf(x.shape);
  const out = zeros(x.dtype, outShape) as NpyArray;
  const src = x.data as ArrayLike<number>;
  const dst = out.data as { [i: number]: number };
  const outStrides = stridesOf(outShape);
  const total = sizeOf(outShape);

  if (mode === 'nearest') {
    const maps = outShape.map((len, axis) =>
      Int32Array.from({ length: len }, (_, i) => {
        const o = original(axis, i);
        const k = nearest(o, nearestMode, node);
        return Math.min(Math.max(k, 0), x.shape[axis]! - 1);
      }),
    );
    for (let i = 0; i < total; i++) {
      let rest = i;
      let offset = 0;
      for (let a = 0; a < rank; a++) {
        const idx = Math.floor(rest / outStrides[a]!);
        rest -= idx * outStrides[a]!;
        offset += maps[a]![idx]! * inStrides[a]!;
      }
      dst[i] = src[offset]!;
    }
    return out;
  }

  // Linear: per axis, the two neighbours and the weight of the upper one.
  const taps = outShape.map((len, axis) =>
    Array.from({ length: len }, (_, i) => {
      const inLen = x.shape[axis]!;
      const o = Math.min(Math.max(original(axis, i), 0), inLen - 1);
      const lo = Math.floor(o);
      return { lo, hi: Math.min(lo + 1, inLen - 1), w: o - lo };
    }),
  );
  for (let i = 0; i < total; i++) {
    let rest = i;
    const at = new Array<{ lo: number; hi: number; w: number }>(rank);
    for (let a = 0; a < rank; a++) {
      const idx = Math.floor(rest / outStrides[a]!);
      rest -= idx * outStrides[a]!;
      at[a] = taps[a]![idx]!;
    }
    let sum = 0;
    for (let corner = 0; corner < 1 << rank; corner++) {
      let weight = 1;
      let offset = 0;
      for (let a = 0; a < rank && weight !== 0; a++) {
        const upper = (corner >> a) & 1;
        weight *= upper ? at[a]!.w : 1 - at[a]!.w;
        offset += (upper ? at[a]!.hi : at[a]!.lo) * inStrides[a]!;
      }
      if (weight !== 0) sum += weight * src[offset]!;
    }
    dst[i] = Math.fround(sum);
  }
  return out;
}

const TRANSFORMS = new Set(['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel', 'tf_half_pixel_for_nearest']);

function nearest(value: number, mode: string, node: Node): number {
  const floor = Math.floor(value);
  const half = value - floor === 0.5;
  switch (mode) {
    case 'floor':
      return floor;
    case 'ceil':
      return Math.ceil(value);
    case 'round_prefer_ceil':
      return half ? floor + 1 : Math.round(value);
    case 'round_prefer_floor':
      return half ? floor : Math.round(value);
    default:
      throw unsupported(node, `nearest_mode '${mode}'`);
  }
}

function fail(node: Node, message: string): QuantkitError {
  return new QuantkitError('QK_TENSOR_DATA', `Node ${node.describe()}: ${message}`, { subject: node.name });
}

function unsupported(node: Node, what: string): QuantkitError {
  return new QuantkitError('QK_UNSUPPORTED', `The interpreter does not run Resize node ${node.describe()} with ${what}`, {
    subject: node.name,
    hint: 'Run the model with lowerToStandard and onnxruntime instead.',
  });
}
