import type { IntegerDtype } from './integer-ops.js';

/**
 * Where onnxruntime 1.30 (CPU) has no kernel for a pass-through op on an integer dtype, and the float type the
 * lowering runs it in instead (exact: int8 / int16 in float32, int32 in float64; these ops only move, pad with 0 or
 * compare values). `'none'`: no exact carrier runs either (GlobalMaxPool has no float64 kernel), so the lowering
 * refuses. Resize is the nearest one (nodeTrait). Every other pass-through op (Concat, Expand, Flatten, Gather, Identity, Reshape, Slice, Split, Squeeze,
 * Tile, Transpose, Unsqueeze) runs on int8, int16 and int32 natively. ort-support.int.test.ts probes onnxruntime
 * and fails when this table goes stale.
 */
export const ORT_INTEGER_GAPS: Readonly<Record<string, Partial<Record<IntegerDtype, 'float32' | 'float64' | 'none'>>>> = {
  DepthToSpace: { int16: 'float32', int32: 'float64' },
  GlobalMaxPool: { int8: 'float32', int16: 'float32', int32: 'none' },
  MaxPool: { int16: 'float32', int32: 'float64' },
  Pad: { int16: 'float32' },
  Resize: { int16: 'float32' },
  SpaceToDepth: { int16: 'float32', int32: 'float64' },
};

/** Inputs of these ops that carry data (and so need the cast); the others are shapes, pads or axes. */
export const ORT_GAP_DATA_INPUTS: Readonly<Record<string, readonly number[]>> = {
  DepthToSpace: [0],
  GlobalMaxPool: [0],
  MaxPool: [0],
  Pad: [0, 2],
  Resize: [0],
  SpaceToDepth: [0],
};
