import { forMarch, type Quantkit } from '../di/create-quantkit.js';
import { isQuantkitError, QuantkitError } from '../errors/quantkit-error.js';
import { editPipeline, Pipeline, type PipelineEdit } from '../pass/pass-manager.js';
import type { Pass, Phase } from '../pass/pass.js';
import type { QuantkitConfig } from './quantkit-config.js';

/**
 * A phase's pipeline with the config's edits: every registered pass of the phase, ordered by `after`, then
 * edited in order.
 * 1. `{ drop }` removes a pass.
 * 2. `{ insert, after | before }` places a registered pass of the same phase there; a pass that is already in
 *    the pipeline (every registered pass is, by default) moves, so it never runs twice.
 * 3. An edit that names an unknown pass, or a pass of the other phase, is QK_CONFIG naming the config file and
 *    the edit (`pipeline.prepare[1]`).
 */
export function configuredPipeline(
  quantkit: Quantkit,
  phase: Phase,
  config: Pick<QuantkitConfig, 'pipeline' | 'file'>,
  march?: string,
): Pipeline {
  const base = quantkit.pipeline(phase, [], march);
  const registered = quantkit.passes();
  const available = registered.filter((p) => p.info.phase === phase && forMarch(p, march));
  let passes: Pass[] = [...base.passes];
  (config.pipeline[phase] ?? []).forEach((edit, i) => {
    const where = `${config.file ?? 'the config'}: pipeline.${phase}[${i}] (${describeEdit(edit)})`;
    if ('insert' in edit) {
      const other = registered.find((p) => p.info.name === edit.insert && p.info.phase !== phase);
      if (other) {
        throw new QuantkitError('QK_CONFIG', `${where}: '${edit.insert}' is a ${other.info.phase} pass; it cannot run in the ${phase} pipeline.`, {
          subject: config.file,
          hint: `Move the edit to pipeline.${other.info.phase}.`,
        });
      }
    }
    try {
      if ('insert' in edit && passes.some((p) => p.info.name === edit.insert)) {
        passes = passes.filter((p) => p.info.name !== edit.insert);
      }
      passes = editPipeline(passes, [edit], available);
    } catch (error) {
      if (!isQuantkitError(error)) throw error;
      throw new QuantkitError(error.code, `${where}: ${error.message}`, { cause: error, hint: error.hint, subject: config.file });
    }
  });
  return new Pipeline(base.info.name, phase, passes);
}

export function describeEdit(edit: PipelineEdit): string {
  if ('drop' in edit) return `drop ${edit.drop}`;
  return 'after' in edit ? `insert ${edit.insert} after ${edit.after}` : `insert ${edit.insert} before ${edit.before}`;
}
