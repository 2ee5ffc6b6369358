/**
 * The integer IR: what `convert` writes to quantized.onnx. Ops live in the `quantkit` domain (opset version 1)
 * so that Netron shows them and no ONNX tool mistakes them for standard ops. Every scale is an attribute, so a
 * node is readable on its own. Integer tensors are ONNX int8 / int16 / int32 tensors with zero point 0. Float
 * attributes are float32 in the file, so every scale below is its float32 value.
 *
 * quantkit::Quantize(x: float32) → int8 | int16
 *   attrs: scale: float, dtype: 'int8' | 'int16', unit: 'bpu' | 'vpu' | 'cpu',
 *          rounding: 'half_even' (default) | 'bpu'
 *   y = saturate(round(x / scale)), the division in float32 (as QuantizeLinear); round is round-half-to-even, or
 *   floor(v + 0.5) for rounding 'bpu' (DESIGN §5).
 *
 * quantkit::Dequantize(q: int8 | int16 | int32) → float32
 *   attrs: scale: floats (1 value, or one per channel), axis: int (channel axis when per channel; default 1), unit
 *   y = float32(q) · scale[c], both roundings to float32 (as DequantizeLinear: an int32 beyond 2^24 rounds first).
 *
 * quantkit::Rescale(acc: int32 | int16 | int8) → int8 | int16
 *   attrs: multiplier: ints, shift: ints (1 value or one per channel), axis: int (default 1),
 *          out_dtype: 'int8' | 'int16', relu: int (0 | 1), clip_min, clip_max: ints (optional), unit (optional)
 *   y = clamp(saturate(floor((acc · multiplier + 2^(shift−1)) / 2^shift)), lo, hi), computed exactly:
 *   acc · M rounded half toward +∞ (2.5 → 3, −2.5 → −2, −2.6 → −3), M = multiplier · 2^−shift ≈ s_in / s_out.
 *   lo = 0 with relu, else clip_min (absent = no bound); hi = clip_max.
 *   Encoding (requant.ts `encodeMultiplier`): multiplier = roundHalfEven(M · 2^shift) in [2^21, 2^22) with shift in
 *   [1, 53], relative error ≤ 2^−22. Exact outliers: M < 2^−32 encodes as multiplier 0 (|acc · M| < 1/2 for every
 *   int32 acc, so y = 0 either way); M ≥ 2^21 (rounded) encodes as (2^22 − 1, 1) (every nonzero acc saturates
 *   either way). |acc| ≤ 2^31 and multiplier < 2^22 keep acc · multiplier below 2^53, exact in float64.
 *
 * quantkit::Conv(x: int8 | int16, w: int8 | int16, bias?: int32) → out_dtype
 * quantkit::ConvTranspose(x: int8 | int16, w: int8 | int16, bias?: int32) → out_dtype
 *   (w is [C, M / group, k…] as in ONNX; the output channel axis is 1; attrs as ONNX ConvTranspose plus the ones below)
 * quantkit::Gemm(a: int8 | int16, b: int8 | int16, c?: int32) → out_dtype   (transA, transB as in ONNX; alpha = beta = 1)
 * quantkit::MatMul(a: int8 | int16, b: int8 | int16, bias?: int32) → out_dtype
 *   attrs: the op's own ONNX attributes (Conv: pads, strides, dilations, group, kernel_shape, auto_pad;
 *          Gemm: transA, transB), plus
 *          out_dtype: 'int8' | 'int16' | 'int32' | 'float32'
 *          x_scale: float, w_scale: floats (per output channel; one value for an activation × activation MatMul)
 *          out_scale: float (int8 / int16 outputs only; informative)
 *          multiplier, shift: ints per output channel (int8 / int16 outputs: the requantization of the
 *            accumulator, encoded as for Rescale)
 *          relu: int (0 | 1), clip_min, clip_max: ints (a fused Clip; absent = none)
 *          acc_shift: int (default 0; convert sets DOUBLE_INT16_ACC_SHIFT when x and a constant w are both int16)
 *   acc = saturate_int32(floor((Σ x · w + 2^(acc_shift − 1)) / 2^acc_shift) + bias), the sum exact, rounded half
 *   up when acc_shift > 0 (bias per output channel); the accumulator's scale is x_scale · w_scale[c] · 2^acc_shift
 *   (int16 weights need an int8 / int16 out_dtype, so no float32 output has a shift);
 *   int8/int16 out: Rescale semantics on acc, relu / clip on the rescaled value;
 *   int32 out: clamp(acc, lo, hi); float32 out: float32(clamp(acc, lo, hi)) · s[c] with s[c] = float32(x_scale ·
 *   w_scale[c]) — a DequantizeLinear of the int32 accumulator (for float32 out, clip_min / clip_max are in the
 *   accumulator's units). The output channel axis is 1 for Conv and the last axis for Gemm / MatMul.
 *   Running on onnxruntime (lower.ts) bounds the reduction length K (terms per output): Conv K = (C / group) ·
 *   Π kernel ≤ 33025, so no int32 inside ConvInteger can wrap; ConvTranspose runs in float32, exact while every
 *   partial sum stays below 2^24: (C / group) · Π kernel ≤ 1024 per int8 (or int16 byte) pass, larger C split; Gemm / MatMul K ≤ 2^22, so every float64 partial
 *   sum is an integer below 2^53.
 *
 * quantkit::Lut(q: int8 | int16, table: int8 | int16 [256 | 65536]) → out_dtype (the table's type)
 *   attrs: out_dtype: 'int8' | 'int16', function: string, in_scale, out_scale: float (informative), unit: 'vpu'
 *   y = table[q − min(q's type)]: a pointwise function on the VPU as a look-up table over the input codes
 *   (convert/pointwise-lut.ts builds it).
 *
 * quantkit::Epilogue(acc: int32, [scale_k, shift_k: float32 [C]]…) → out_dtype
 *   attrs: acc_scale: floats (1 value, or one per channel), axis: int (channel axis of acc_scale and of the ScaleShift
 *          parameters; default 1), steps: string (comma-separated, in order: Relu, Clip, HardSigmoid, HardSwish,
 *          LeakyRelu, ScaleShift, Sigmoid, Tanh, GeluTanh, SiLU), step_params: floats (Clip: min, max; HardSigmoid:
 *          alpha, beta; LeakyRelu: alpha; the others none, in step order), out_dtype: 'int8' | 'int16', out_scale: float,
 *          clip_min, clip_max: ints (optional), unit: 'vpu'
 *   The output stage of a GEMM group whose epilogue (prepare/fuse-gemm.ts) is more than a Relu / Clip, as one op after
 *   the GEMM's int32 accumulator: x = float32(acc) · acc_scale[c] (a DequantizeLinear), each step on x per element
 *   (epilogue.ts defines their arithmetic: float32 for the piecewise-linear ones, float64 rounded once to float32 for
 *   Sigmoid / Tanh / SiLU / GeluTanh; a ScaleShift step reads the node's next two inputs), then y = QuantizeLinear(x,
 *   out_scale) clamped to [clip_min, clip_max] — where a trailing Relu / Clip of the chain went, exactly, since
 *   quantizing is monotonic. One quantization, at the group's output.
 *
 * quantkit::ScaleShift(q: int8 | int16) → out_dtype
 *   attrs: multiplier: ints (signed), shift: ints, offset: ints (1 value or one per channel), axis: int (default 1),
 *          out_dtype: 'int8' | 'int16', in_scale, out_scale: float (informative), unit: 'vpu'
 *   y = saturate(floor((q · multiplier[c] + offset[c]) / 2^shift[c])): a per-channel scale-shift (a BatchNormalization
 *   with no GEMM before it) in integer arithmetic, y ≈ round(q · m + b) with m = s_in · a[c] / s_out, b = b[c] / s_out
 *   (requant.ts `encodeScaleShift`: |multiplier| < 2^22, shift in [1, 35], |offset| < 2^52, so the sum is an exact
 *   float64 integer).
 *
 * VPU float islands: an elementwise op (LayerNormalization, Softmax, Add, …) computed in float on the VPU is
 *   written as quantkit::<OpType> with its ONNX attributes (opset 21 semantics) plus unit: 'vpu', reading
 *   Dequantize outputs and feeding a Quantize.
 * Pass-through ops (Reshape, Transpose, MaxPool, Concat of equal scales, …) stay standard ONNX ops on integer
 *   tensors. CPU fallbacks stay standard float ops between a Dequantize and a Quantize with unit: 'cpu'.
 *
 * Changes from the first draft (issue 4): acc is saturated to int32 for every out_dtype (the rescale needs
 * |acc| ≤ 2^31); the float32 output's scale is one float32 product per channel (a DequantizeLinear, so it runs bit
 * for bit in onnxruntime); relu / clip placement per out_dtype; clip_min / clip_max on Rescale; an optional bias
 * on MatMul; transA on Gemm; Quantize's `rounding`; the rounding direction, shift range, M = 0 and the exact
 * outliers of the multiplier encoding; the K bounds of the onnxruntime lowering; default axis 1.
 */
export const INTEGER_DOMAIN = 'quantkit';
export const INTEGER_OPSET_VERSION = 1;

export type IntegerDtype = 'int8' | 'int16' | 'int32';
export type OutDtype = IntegerDtype | 'float32';
/** What Quantize and Rescale produce. */
export type NarrowDtype = 'int8' | 'int16';
export type Unit = 'bpu' | 'vpu' | 'cpu';
export type QuantizeRounding = 'half_even' | 'bpu';

/**
 * The accumulator shift of an int16 × int16-weight GEMM ("double int16"): a sum of int16 · int16 products outgrows
 * int32 within a few terms of full-scale operands, so its exact sum is rounded to a grid 2^8 coarser before the
 * bias and the int32 saturation — the headroom int16 × int8 has (see the GEMM ops above).
 */
export const DOUBLE_INT16_ACC_SHIFT = 8;

/** Bits of the rescale multiplier: multipliers lie in [2^(bits−1), 2^bits). */
export const MULTIPLIER_BITS = 22;
/** The largest shift a Rescale takes; the encoding needs no more (M < 2^-32 encodes as 0). */
export const MAX_SHIFT = 53;

/** The integer IR's own ops; any other quantkit op is a VPU float island. */
export const INTEGER_OPS = ['Quantize', 'Dequantize', 'Rescale', 'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Lut', 'Epilogue', 'ScaleShift'] as const;
export type IntegerOp = (typeof INTEGER_OPS)[number];

export const INTEGER_RANGE: Record<IntegerDtype, { min: number; max: number }> = {
  int8: { min: -128, max: 127 },
  int16: { min: -32768, max: 32767 },
  int32: { min: -2147483648, max: 2147483647 },
};

export function isIntegerOp(opType: string): opType is IntegerOp {
  return (INTEGER_OPS as readonly string[]).includes(opType);
}

export function isOutDtype(name: string): name is OutDtype {
  return name === 'int8' || name === 'int16' || name === 'int32' || name === 'float32';
}
