import { Worker } from 'node:worker_threads';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { ObserverState } from '../quant/observer.js';
import { deserializeError, type WorkerJob, type WorkerMessage } from './worker-protocol.js';

export interface ShardResult {
  samples: number;
  states: Record<string, ObserverState>;
}

/**
 * How to start a worker. The build bundles core into dist/index.js and the worker into dist/calibrate-worker.js
 * beside it (an extra tsup entry), so the worker is found relative to this module. Running from the TypeScript
 * sources (vitest), this module is a .ts file and Node cannot run worker.ts on its own: the worker then registers
 * ts-worker-hooks.mjs first, which strips types with esbuild, so the workers run the same code as in the build.
 */
function workerScript(): { url: URL; execArgv: string[] | undefined } {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return { url: new URL('./calibrate-worker.js', self), execArgv: undefined };
  const hooks = new URL('./ts-worker-hooks.mjs', self).href;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`;
  return {
    url: new URL('./worker.ts', self),
    execArgv: ['--import', `data:text/javascript,${encodeURIComponent(register)}`],
  };
}

/**
 * Runs one worker per job, all at once, and returns their results in job order. `onSample` hears every sample
 * any worker finishes. The first failure terminates the other workers and rejects with the worker's error.
 */
export async function runWorkers(jobs: readonly WorkerJob[], onSample: (id: string) => void): Promise<ShardResult[]> {
  const { url, execArgv } = workerScript();
  const workers: Worker[] = [];
  // After the first failure, progress from the other workers (until they are terminated) is not reported.
  let failed = false;
  const runs = jobs.map(
    (job) =>
      new Promise<ShardResult>((resolve, reject) => {
        const shard = `shard ${job.shard.index} of ${job.shard.count}`;
        const worker = new Worker(url, { workerData: job, execArgv });
        workers.push(worker);
        let settled = false;
        worker.on('message', (message: WorkerMessage) => {
          if (message.type === 'sample') {
            if (failed) return;
            try {
              onSample(message.id);
            } catch (error) {
              settled = true;
              reject(error);
            }
          } else if (message.type === 'done') {
            settled = true;
            resolve({ samples: message.samples, states: message.states });
          } else {
            settled = true;
            reject(deserializeError(message.error, shard));
          }
        });
        worker.on('error', (cause) => {
          settled = true;
          reject(
            new QuantkitError('QK_UNKNOWN', `Calibration worker for ${shard} crashed: ${cause.message}`, { cause }),
          );
        });
        worker.on('exit', (code) => {
          if (!settled) {
            settled = true;
            reject(new QuantkitError('QK_UNKNOWN', `Calibration worker for ${shard} exited with code ${code}`));
          }
        });
      }),
  );
  try {
    return await Promise.all(runs);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    for (const worker of workers) void worker.terminate();
  }
}
