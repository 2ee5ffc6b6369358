import type { NpyArray } from '../data/npy.js';
import type { Model } from '../ir/model.js';
import { exposeValues } from '../runtime/expose-values.js';
import { createSession, releaseSession, runSession, type GraphOptimizationLevel, type OutputTensor, type Session } from '../runtime/ort.js';
import type { ValuesRunner } from './observe-samples.js';

/**
 * The fallback of a calibration run (see ValuesRunner): a session of the model with every observed tensor
 * computed by a node exposed as an output, created on first use only (`model` is called then) and released by
 * `release`.
 */
export function lazyValuesRunner(
  model: () => Model,
  names: readonly string[],
  options: { threads: number; graphOptimizationLevel?: GraphOptimizationLevel; name: string },
): { run: ValuesRunner; release: () => Promise<void> } {
  let session: Promise<Session> | undefined;
  return {
    run: async (feeds: ReadonlyMap<string, NpyArray>, wanted: readonly string[]) => {
      session ??= createSession(exposeValues(model(), names, options.name).model, options);
      return runSession(await session, feeds, wanted) as Promise<ReadonlyMap<string, OutputTensor>>;
    },
    release: async () => {
      if (session !== undefined) await releaseSession(await session);
    },
  };
}
