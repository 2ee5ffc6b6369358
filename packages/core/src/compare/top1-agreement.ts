/**
 * Top-1 agreement of two classifier outputs: what a user of a classifier asks of its quantized model — does it
 * pick the same class as the float one — which SQNR does not say.
 * 1. Only outputs of rank 2, [rows, classes] with classes ≥ 2, count as classifier scores (logits or
 *    probabilities); any other shape gives undefined (an argmax over the width of a feature map means nothing).
 * 2. Per row, the class is the first index of the largest value; a NaN anywhere in a row makes that row's class
 *    −1, which agrees with nothing (a model that produces NaN does not pick a class).
 * 3. Both tensors must have the same dims, otherwise undefined.
 */
export interface Top1Counts {
  /** Rows on which both models pick the same class. */
  agree: number;
  /** Rows compared. */
  rows: number;
}

type Dense = ArrayLike<number | bigint>;

function argmaxRow(data: Dense, start: number, classes: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let c = 0; c < classes; c++) {
    const value = Number(data[start + c]);
    if (Number.isNaN(value)) return -1;
    if (best < 0 || value > bestValue) {
      best = c;
      bestValue = value;
    }
  }
  return best;
}

/** Counts of one sample (cases 1–3); undefined when the output is not a classifier's. */
export function top1Counts(reference: { dims: readonly number[]; data: Dense }, test: { dims: readonly number[]; data: Dense }): Top1Counts | undefined {
  const dims = reference.dims;
  if (dims.length !== 2 || dims[1]! < 2) return undefined;
  if (test.dims.length !== 2 || test.dims[0] !== dims[0] || test.dims[1] !== dims[1]) return undefined;
  const [rows, classes] = dims as [number, number];
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    const a = argmaxRow(reference.data, r * classes, classes);
    if (a >= 0 && a === argmaxRow(test.data, r * classes, classes)) agree++;
  }
  return { agree, rows };
}

/** Adds a sample's counts to a running total; a sample with no counts makes the total undefined for good. */
export function addTop1(total: Top1Counts | undefined | null, sample: Top1Counts | undefined): Top1Counts | undefined {
  if (total === undefined || sample === undefined) return undefined;
  if (total === null) return { ...sample };
  return { agree: total.agree + sample.agree, rows: total.rows + sample.rows };
}
