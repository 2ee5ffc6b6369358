import { availableParallelism } from 'node:os';
import {
  openCalibrationSource,
  type CalibrationSource,
  type CalibrationSpec,
  type InputSpec,
  type Shard,
} from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import { encodeModel } from '../onnx/encode.js';
import { quantPlanOf, type ActivationDtype } from '../prepare/quant-plan.js';
import type { ObserverFactory, ObserverState } from '../quant/observer.js';
import type { SummaryNeeds } from '../quant/observer.js';
import { calibrationModel, type CalibrationModel } from './calibration-model.js';
import { lazyValuesRunner } from './values-runner.js';
import { inputSpecs } from '../runtime/model-io.js';
import { createSession, releaseSession, type GraphOptimizationLevel } from '../runtime/ort.js';
import { CalibrationResult, mergeCalibrationResults } from './calibration-result.js';
import { observeSamples, type ObservedTensor } from './observe-samples.js';
import { runWorkers } from './worker-pool.js';
import type { WorkerJob, WorkerValueSource } from './worker-protocol.js';

/**
 * Calibration data given by its spec, so that calibrate can open it (and workers can open their shards of it).
 * `inputs` defaults to the prepared model's inputs; `shard` calibrates only that shard (`--shard k/n`).
 */
export interface CalibrationDataSpec {
  spec: CalibrationSpec;
  inputs?: readonly InputSpec[];
  shard?: Shard;
}

/** An open source (in-process runs only) or a spec (any run). */
export type CalibrationData = CalibrationSource | CalibrationDataSpec;

export interface CalibrationProgress {
  /** Samples finished so far, over all workers. */
  done: number;
  total: number;
  /** The id of the sample that just finished. */
  sample: string;
}

export interface CalibrateOptions {
  observer: ObserverFactory;
  /** Passed to `observer.create` for every tensor. */
  observerConfig?: Record<string, unknown>;
  /**
   * Worker threads, each calibrating one shard of the data; their states are merged. Default 1: calibrate in this
   * thread. Needs the data as a spec, and `observerModule`.
   */
  workers?: number;
  /**
   * Where workers import the observer factory from (a factory is code and cannot be sent to a thread): a module
   * URL, an absolute path, or a package name resolvable from @quantkit/core, exporting the factory (or a plugin
   * that binds it). E.g. `import.meta.resolve('@quantkit/observers')`.
   */
  observerModule?: string | URL;
  /** Intra-op threads per session; default all cores, divided among the workers. */
  threads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** How errors name the model, e.g. its path. */
  modelName?: string;
  onProgress?: (event: CalibrationProgress) => void;
}

/** One observed tensor: its value name and activation dtype. */
export interface CalibrationTarget {
  name: string;
  dtype: ActivationDtype;
}

/**
 * The tensors a plan needs observed: every ActivationQuant without `shareWith` (those reuse another tensor's
 * scale), in plan order.
 */
export function calibrationTargets(prepared: Model): CalibrationTarget[] {
  const plan = quantPlanOf(prepared);
  const targets: CalibrationTarget[] = [];
  for (const quant of plan.activations.values()) {
    if (quant.shareWith === undefined) targets.push({ name: quant.value.name, dtype: quant.dtype });
  }
  return targets;
}

function isSource(data: CalibrationData): data is CalibrationSource {
  return typeof (data as Partial<CalibrationSource>).samples === 'function';
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new QuantkitError('QK_USAGE', `${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Calibrates a prepared model: runs its float graph (a prepared model has no Q/DQ) on every sample, with each
 * observed tensor exposed as an extra graph output of a copy of the model (the input model is not modified), and
 * feeds every tensor to its own per-tensor observer, of the dtype the plan gives it. Tensors that are graph inputs
 * are observed from the feeds.
 *
 * 1. Samples are streamed: one at a time, nothing kept, so memory does not grow with their number.
 * 2. NaN or ±Infinity in an observed tensor throws QK_CALIB_DATA naming the sample and the tensor.
 * 3. `workers: N > 1` splits the data into N shards (round robin, see `Shard`), calibrates each in a worker
 *    thread with its own session and observers, and merges the states in shard order (observer.merge): the result
 *    equals a one-thread run wherever the observer's merge is exact (minmax, mse histogram mode).
 * 4. With `shard` in the data spec, only that shard is calibrated (an empty shard gives 0 samples); without one,
 *    data without samples is an error.
 * 5. A tensor whose observer takes a summary (`summaryNeeds` / `observeSummary`: minmax per tensor, mse's
 *    histogram mode) is summarised inside the graph (see calibrationModel, addSummaries): per sample only its
 *    count, range and, for mse, its 2·bins + 1 histogram counts leave onnxruntime, and the observer state is the
 *    same as from the elements. A batch a summary cannot describe exactly (NaN, ±Infinity, a range float32 cannot
 *    bin) is run again on the model without summaries and observed from its elements.
 */
export async function calibrate(
  prepared: Model,
  data: CalibrationData,
  options: CalibrateOptions,
): Promise<CalibrationResult> {
  const targets = calibrationTargets(prepared);
  const modelName = options.modelName ?? 'the prepared model';
  const requested = positiveInteger(options.workers ?? 1, 'The number of calibration workers');
  if (requested > 1 && isSource(data)) {
    throw new QuantkitError('QK_USAGE', 'Calibrating with workers needs the calibration data as a spec', {
      hint: 'Pass { spec } (a folder, a file or random data) instead of an open source, so each worker can open its shard.',
    });
  }
  if (requested > 1 && options.observerModule === undefined) {
    throw new QuantkitError(
      'QK_USAGE',
      `Calibrating with workers needs observerModule for observer '${options.observer.kind}'`,
      { hint: 'Workers import the observer again: pass the URL or path of the module that exports it.' },
    );
  }
  const needs = new Map<string, SummaryNeeds | undefined>();
  const needsOf = (dtype: string): SummaryNeeds | undefined => {
    if (!needs.has(dtype)) {
      const probe = options.observer.create({ dtype: dtype as ActivationDtype, granularity: { kind: 'per-tensor' } }, options.observerConfig);
      needs.set(dtype, probe.observeSummary === undefined ? undefined : probe.summaryNeeds?.());
    }
    return needs.get(dtype);
  };
  const exposed = calibrationModel(prepared, targets, needsOf, modelName);
  const source = isSource(data)
    ? data
    : await openCalibrationSource(data.spec, data.inputs ?? inputSpecs(prepared), { shard: data.shard });
  const total = source.count;
  // A worker without samples would only load the model; the shards' union is the same with fewer workers.
  const workers = Math.min(requested, Math.max(1, total));
  const threads = positiveInteger(
    options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)),
    'The number of threads',
  );
  let done = 0;
  const onSample = (sample: string): void => {
    done++;
    options.onProgress?.({ done, total, sample });
  };

  const result =
    isSource(data) || workers === 1
      ? await calibrateHere(prepared, exposed, targets, source, options, threads, modelName, onSample)
      : await calibrateInWorkers(prepared, exposed, targets, data, options, workers, threads, modelName, onSample);
  if (result.samples === 0 && (isSource(data) || data.shard === undefined)) {
    throw new QuantkitError('QK_CALIB_DATA', `Calibration data ${source.description} holds no samples`, {
      subject: source.description,
      hint: 'Calibration needs at least one sample.',
    });
  }
  return result;
}

async function calibrateHere(
  prepared: Model,
  exposed: CalibrationModel,
  targets: readonly CalibrationTarget[],
  source: CalibrationSource,
  options: CalibrateOptions,
  threads: number,
  modelName: string,
  onSample: (id: string) => void,
): Promise<CalibrationResult> {
  const { observer: factory, observerConfig } = options;
  const tensors: ObservedTensor[] = targets.map(({ name, dtype }) => ({
    name,
    source: exposed.sources.get(name)!,
    observer: factory.create({ dtype, granularity: { kind: 'per-tensor' } }, observerConfig),
    summary: exposed.summaries.get(name)?.outputs,
    histogramBins: exposed.summaries.get(name)?.histogramBins,
  }));
  const sessionOptions = { threads, graphOptimizationLevel: options.graphOptimizationLevel, name: modelName };
  const session = await createSession(exposed.model, sessionOptions);
  const values = lazyValuesRunner(() => prepared, [...exposed.summaries.keys()], sessionOptions);
  let samples: number;
  try {
    samples = await observeSamples(session, source, tensors, exposed.fetch, onSample, values.run);
  } finally {
    await releaseSession(session);
    await values.release();
  }
  const states = new Map<string, ObserverState>();
  for (const { name, observer } of tensors) states.set(name, observer.state());
  return new CalibrationResult(states, samples, factory.kind);
}

async function calibrateInWorkers(
  prepared: Model,
  exposed: CalibrationModel,
  targets: readonly CalibrationTarget[],
  data: CalibrationDataSpec,
  options: CalibrateOptions,
  workers: number,
  threads: number,
  modelName: string,
  onSample: (id: string) => void,
): Promise<CalibrationResult> {
  const { observer: factory } = options;
  const observerModule = options.observerModule!;
  const module = observerModule instanceof URL ? observerModule.href : observerModule;
  const model = encodeModel(exposed.model);
  const valuesModel = exposed.summaries.size === 0 ? undefined : encodeModel(prepared);
  const inputs = [...(data.inputs ?? inputSpecs(exposed.model))];
  const tensors = targets.map(({ name, dtype }) => {
    const from = exposed.sources.get(name)!;
    const source: WorkerValueSource =
      from.kind === 'constant' ? { kind: 'constant', dims: [...from.tensor.dims], data: from.tensor.toFloat32() } : from;
    const summary = exposed.summaries.get(name);
    return { name, dtype, source, summary: summary?.outputs, histogramBins: summary?.histogramBins };
  });
  // Shard j of this run's shard (k of n) is shard k + n·j of n·N: the workers' shards partition exactly this shard.
  const outer = data.shard ?? { index: 0, count: 1 };
  const jobs: WorkerJob[] = Array.from({ length: workers }, (_, j) => ({
    model,
    valuesModel,
    modelName,
    threads,
    graphOptimizationLevel: options.graphOptimizationLevel,
    spec: data.spec,
    inputs,
    shard: { index: outer.index + outer.count * j, count: outer.count * workers },
    tensors,
    fetch: [...exposed.fetch],
    observer: { module, kind: factory.kind, config: options.observerConfig },
  }));
  const shards = await runWorkers(jobs, onSample);
  const results = shards.map(
    (shard) => new CalibrationResult(new Map(Object.entries(shard.states)), shard.samples, factory.kind),
  );
  return mergeCalibrationResults(
    results,
    () => factory,
    jobs.map((job) => `worker shard ${job.shard.index} of ${job.shard.count}`),
  );
}
