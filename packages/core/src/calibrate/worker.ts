/**
 * Entry point of a calibration worker thread (built as dist/calibrate-worker.js): calibrates one shard of the
 * data with its own session and observers and posts the observer states back; the main thread merges them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openCalibrationSource } from '../data/calibration-data.js';
import { Tensor } from '../ir/tensor.js';
import type { ObserverState } from '../quant/observer.js';
import type { ValueSource } from '../runtime/expose-values.js';
import { createSession, releaseSession } from '../runtime/ort.js';
import { decodeModel } from '../onnx/decode.js';
import { loadObserverFactory } from './load-observer.js';
import { lazyValuesRunner } from './values-runner.js';
import { observeSamples, type ObservedTensor } from './observe-samples.js';
import { serializeError, type WorkerJob, type WorkerMessage } from './worker-protocol.js';

function post(message: WorkerMessage): void {
  parentPort!.postMessage(message);
}

async function run(job: WorkerJob): Promise<void> {
  const factory = await loadObserverFactory(job.observer.module, job.observer.kind);
  const source = await openCalibrationSource(job.spec, job.inputs, { shard: job.shard });
  const session = await createSession(job.model, {
    threads: job.threads,
    graphOptimizationLevel: job.graphOptimizationLevel,
    name: job.modelName,
  });
  try {
    const tensors: ObservedTensor[] = job.tensors.map(({ name, dtype, source: from, summary, histogramBins }) => {
      const valueSource: ValueSource =
        from.kind === 'constant' ? { kind: 'constant', tensor: Tensor.fromArray(from.data, from.dims) } : from;
      const observer = factory.create({ dtype, granularity: { kind: 'per-tensor' } }, job.observer.config);
      return { name, source: valueSource, observer, summary, histogramBins };
    });
    const summarised = tensors.filter((t) => t.summary !== undefined).map((t) => t.name);
    const values = lazyValuesRunner(() => decodeModel(job.valuesModel!), summarised, {
      threads: job.threads,
      graphOptimizationLevel: job.graphOptimizationLevel,
      name: job.modelName,
    });
    let samples: number;
    try {
      samples = await observeSamples(session, source, tensors, job.fetch, (id) => post({ type: 'sample', id }), values.run);
    } finally {
      await values.release();
    }
    const states: Record<string, ObserverState> = {};
    for (const { name, observer } of tensors) states[name] = observer.state();
    post({ type: 'done', samples, states });
  } finally {
    await releaseSession(session);
  }
}

run(workerData as WorkerJob).catch((error: unknown) => post({ type: 'error', error: serializeError(error) }));
