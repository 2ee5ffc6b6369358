import { encodeModel, type Model } from '@quantkit/core';

export type Feeds = Record<string, { dims: number[]; data: Float32Array }>;

/** Runs a float model in onnxruntime (one thread, no graph optimizations) and returns its outputs by name. */
export async function runFloat(model: Model, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(encodeModel(model), {
    interOpNumThreads: 1,
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'disabled',
  });
  try {
    const results = await session.run(
      Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor('float32', f.data, f.dims)])),
    );
    return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, t.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/** The largest |a − b| relative to the largest |a| of each output, over all outputs. */
export function maxRelativeError(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let worst = 0;
  for (const [name, expected] of Object.entries(a)) {
    const actual = b[name];
    if (!actual || actual.length !== expected.length) return Number.POSITIVE_INFINITY;
    let peak = 0;
    let error = 0;
    for (let i = 0; i < expected.length; i++) {
      peak = Math.max(peak, Math.abs(expected[i]!));
      error = Math.max(error, Math.abs(expected[i]! - actual[i]!));
    }
    worst = Math.max(worst, error / Math.max(peak, 1e-12));
  }
  return worst;
}

/** The op histogram of a model's main graph. */
export function opHistogram(model: Model): Record<string, number> {
  const histogram: Record<string, number> = {};
  for (const node of model.graph) histogram[node.opType] = (histogram[node.opType] ?? 0) + 1;
  return histogram;
}
