/**
 * Horizon's running average of a range end, r ← r + c·(batch − r), in float32 as Horizon's torch observers compute
 * it (c rounded to float32, each operation rounded to float32), so a per-batch run reproduces their numbers.
 */
export function averagingStep(running: number, batch: number, averagingConstant: number): number {
  const f = Math.fround;
  return f(running + f(f(averagingConstant) * f(batch - running)));
}

/**
 * How two running averages over disjoint shards of the data combine: the mean of the two weighted by their batch
 * counts, in float32. A running average depends on the order of the batches, so no merge can equal one sequential
 * run; this one is symmetric, associative up to rounding, and exact when one side saw no batch. Sharded
 * calibration in averaging mode is therefore an approximation of the sequential one; use the all-data default
 * when shards must agree exactly.
 */
export function mergeAverages(
  a: readonly number[],
  batchesA: number,
  b: readonly number[],
  batchesB: number,
): number[] {
  if (batchesB === 0) return [...a];
  if (batchesA === 0) return [...b];
  const total = batchesA + batchesB;
  return a.map((value, i) => Math.fround((value * batchesA + b[i]! * batchesB) / total));
}
