import type { CalibrationSpec, InputSpec, Shard } from '../data/calibration-data.js';
import type { ErrorCode } from '../errors/codes.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { ActivationDtype } from '../prepare/quant-plan.js';
import type { ObserverState } from '../quant/observer.js';
import type { GraphOptimizationLevel } from '../runtime/ort.js';
import type { SummaryOutputs } from './summary-graph.js';

/** Where a worker finds an observed tensor; constants travel as their float32 data (a Tensor is not cloneable). */
export type WorkerValueSource =
  | { kind: 'output' }
  | { kind: 'input' }
  | { kind: 'constant'; dims: number[]; data: Float32Array };

/** Everything a worker needs, sent once as `workerData` (structured clone: plain data only). */
export interface WorkerJob {
  /** The float model with the observed tensors exposed as outputs, encoded. */
  model: Uint8Array;
  /** The model without summaries, encoded, when some tensors are summarised: the source of their elements when a summary cannot stand for them. */
  valuesModel: Uint8Array | undefined;
  modelName: string;
  threads: number;
  graphOptimizationLevel: GraphOptimizationLevel | undefined;
  spec: CalibrationSpec;
  inputs: InputSpec[];
  shard: Shard;
  tensors: {
    name: string;
    dtype: ActivationDtype;
    source: WorkerValueSource;
    summary: SummaryOutputs | undefined;
    histogramBins: number | undefined;
  }[];
  fetch: string[];
  /** An observer factory is code, so the worker imports it again: from `module`, the export of kind `kind`. */
  observer: { module: string; kind: string; config: Record<string, unknown> | undefined };
}

export interface SerializedError {
  code: ErrorCode | undefined;
  message: string;
  hint: string | undefined;
  subject: string | undefined;
  stack: string | undefined;
}

export type WorkerMessage =
  | { type: 'sample'; id: string }
  | { type: 'done'; samples: number; states: Record<string, ObserverState> }
  | { type: 'error'; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof QuantkitError) {
    return { code: error.code, message: error.message, hint: error.hint, subject: error.subject, stack: error.stack };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { code: undefined, message: e.message, hint: undefined, subject: undefined, stack: e.stack };
}

/** The worker's error, rebuilt in the main thread with its code, hint and subject; `shard` says which worker. */
export function deserializeError(error: SerializedError, shard: string): QuantkitError {
  const cause = Object.assign(new Error(error.message), { stack: error.stack });
  if (error.code !== undefined) {
    return new QuantkitError(error.code, error.message, { hint: error.hint, subject: error.subject, cause });
  }
  return new QuantkitError('QK_UNKNOWN', `Calibration worker for ${shard} failed: ${error.message}`, { cause });
}
