import type { CalibrationSource, Sample } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Observer } from '../quant/observer.js';
import type { ValueSource } from '../runtime/expose-values.js';
import { readFloat } from '../runtime/expose-values.js';
import { runSession, type OutputTensor, type Session } from '../runtime/ort.js';
import { readSummary } from './read-summary.js';
import type { SummaryOutputs } from './summary-graph.js';

/** One observed tensor of a calibration run: where each sample's value comes from, and its observer. */
export interface ObservedTensor {
  readonly name: string;
  readonly source: ValueSource;
  readonly observer: Observer;
  /** Set when the run returns the tensor's summary (see addSummaries) instead of the tensor. */
  readonly summary?: SummaryOutputs;
  /** With `summary`: the histogram's bins per sign, when the observer asked for one. */
  readonly histogramBins?: number;
}

/**
 * Runs a sample on a model that returns the named tensors themselves: for the rare batch a summary cannot
 * describe exactly (NaN or ±Infinity, whose error must name the element; a range float32 cannot bin exactly).
 */
export type ValuesRunner = (feeds: Sample['inputs'], names: readonly string[]) => Promise<ReadonlyMap<string, OutputTensor>>;

/**
 * The calibration loop, shared by the in-process run and the workers: per sample, one inference that fetches
 * every observed tensor, then each tensor to its observer. Nothing of a sample outlives its iteration, so memory
 * does not grow with the number of samples. Returns the number of samples seen.
 */
export async function observeSamples(
  session: Session,
  source: CalibrationSource,
  observed: readonly ObservedTensor[],
  fetch: readonly string[],
  onSample?: (id: string) => void,
  values?: ValuesRunner,
): Promise<number> {
  let count = 0;
  const none = new Map<string, OutputTensor>();
  for await (const sample of source.samples()) {
    // When only graph inputs are observed there is nothing to run (onnxruntime refuses an empty fetch list).
    let outputs: ReadonlyMap<string, OutputTensor> = none;
    let failed = false;
    try {
      if (fetch.length > 0) outputs = await runSession(session, sample.inputs, fetch);
    } catch (error) {
      // NaN reaching a histogram's index makes the run fail; the model without summaries says which tensor.
      if (values === undefined || !observed.some((t) => t.summary !== undefined)) throw error;
      failed = true;
    }
    const summaries = new Map<string, ReturnType<typeof readSummary>>();
    const unsummarised: string[] = [];
    if (failed) {
      outputs = await values!(sample.inputs, observed.filter((t) => t.source.kind === 'output').map((t) => t.name));
    }
    for (const tensor of observed) {
      if (tensor.summary === undefined) continue;
      const summary = failed ? undefined : readSummary(tensor.summary, outputs, tensor.histogramBins);
      summaries.set(tensor.name, summary);
      if (summary === undefined) unsummarised.push(tensor.name);
    }
    const fallback = failed ? outputs : unsummarised.length === 0 || values === undefined ? none : await values(sample.inputs, unsummarised);
    for (const { name, source: from, observer, summary: summarised } of observed) {
      try {
        const summary = summaries.get(name);
        if (summary !== undefined) {
          observer.observeSummary!(summary);
          continue;
        }
        const { data, dims } = readFloat(name, from, summarised === undefined ? outputs : fallback, sample.inputs);
        checkFinite(data, sample.id, name);
        observer.observe(data, dims);
      } catch (cause) {
        if (cause instanceof QuantkitError && cause.message.startsWith(`Calibration sample ${sample.id}:`)) throw cause;
        const message = cause instanceof Error ? cause.message : String(cause);
        throw new QuantkitError(
          cause instanceof QuantkitError ? cause.code : 'QK_UNKNOWN',
          `Calibration sample ${sample.id}: observing tensor '${name}' failed: ${message}`,
          { cause, subject: name, hint: cause instanceof QuantkitError ? cause.hint : undefined },
        );
      }
    }
    count++;
    onSample?.(sample.id);
  }
  return count;
}

/** Throws QK_CALIB_DATA naming the sample and the tensor when `data` holds NaN or ±Infinity. */
export function checkFinite(data: Float32Array, sample: string, tensor: string): void {
  // x - x is 0 for finite x and NaN for NaN and ±Infinity; four sums keep the loop free of branches and of one
  // long dependency chain, so the check costs about as much as reading the data once.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = data.length;
  const end = n - (n % 4);
  let i = 0;
  for (; i < end; i += 4) {
    const a = data[i]!;
    const b = data[i + 1]!;
    const c = data[i + 2]!;
    const d = data[i + 3]!;
    s0 += a - a;
    s1 += b - b;
    s2 += c - c;
    s3 += d - d;
  }
  for (; i < n; i++) {
    const a = data[i]!;
    s0 += a - a;
  }
  if (s0 + s1 + s2 + s3 === 0) return;
  let first = 0;
  while (data[first]! - data[first]! === 0) first++;
  const value = data[first]!;
  const kind = Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  throw new QuantkitError(
    'QK_CALIB_DATA',
    `Calibration sample ${sample}: tensor '${tensor}' contains ${kind} (first at flat index ${first})`,
    {
      subject: tensor,
      hint:
        'Calibration needs finite values. Check the sample, and whether the model overflows or divides by zero ' +
        'on it (run the float model on this sample).',
    },
  );
}
