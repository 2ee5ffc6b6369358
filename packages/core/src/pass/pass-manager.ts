import { QuantkitError, isQuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { Pass, PassContext, PassDiagnostic, PassInfo, PassResult, Phase } from './pass.js';

export interface PassHooks {
  before?(pass: Pass, model: Model): void;
  after?(pass: Pass, result: PassResult, milliseconds: number): void;
}

/** A change to a phase's default pipeline, from a config file or code. */
export type PipelineEdit =
  | { drop: string }
  | { insert: string; after: string }
  | { insert: string; before: string };

/**
 * Orders passes so that every `after` constraint holds, keeping registration order otherwise (a stable
 * topological sort). A cycle is an error naming the passes in it.
 */
export function orderPasses(passes: readonly Pass[]): Pass[] {
  const byName = new Map(passes.map((p) => [p.info.name, p]));
  const ordered: Pass[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (pass: Pass, path: string[]) => {
    const name = pass.info.name;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new QuantkitError('QK_CONFIG', `Pass ordering has a cycle: ${cycle.join(' → ')}.`, {
        hint: "Check the passes' `after` lists.",
      });
    }
    state.set(name, 'visiting');
    for (const dependency of pass.info.after ?? []) {
      const other = byName.get(dependency);
      if (other) visit(other, [...path, name]);
    }
    state.set(name, 'done');
    ordered.push(pass);
  };
  for (const pass of passes) visit(pass, []);
  return ordered;
}

/** Applies edits to an ordered pipeline. Unknown pass names are errors that list the known ones. */
export function editPipeline(pipeline: readonly Pass[], edits: readonly PipelineEdit[], available: readonly Pass[]): Pass[] {
  const result = [...pipeline];
  const names = () => result.map((p) => p.info.name).join(', ');
  const indexOf = (name: string) => {
    const index = result.findIndex((p) => p.info.name === name);
    if (index < 0) {
      throw new QuantkitError('QK_CONFIG', `The pipeline has no pass named '${name}' (it has: ${names() || 'none'}).`, {
        hint: 'Run with --print-pipeline to see the passes and their order.',
      });
    }
    return index;
  };
  for (const edit of edits) {
    if ('drop' in edit) {
      result.splice(indexOf(edit.drop), 1);
      continue;
    }
    const pass = available.find((p) => p.info.name === edit.insert);
    if (!pass) {
      throw new QuantkitError('QK_CONFIG', `No registered pass is named '${edit.insert}'.`, {
        hint: `Registered passes: ${available.map((p) => p.info.name).join(', ')}. Is its plugin listed in the config?`,
      });
    }
    const at = 'after' in edit ? indexOf(edit.after) + 1 : indexOf(edit.before);
    result.splice(at, 0, pass);
  }
  return result;
}

export interface RunOptions {
  march?: string;
  options?: Record<string, unknown>;
  hooks?: PassHooks;
}

export interface PipelineRun {
  model: Model;
  modified: boolean;
  diagnostics: PassDiagnostic[];
  timings: { pass: string; milliseconds: number; modified: boolean }[];
}

/**
 * A pipeline: passes run in order on one model. It is itself a pass, so pipelines nest. A failure is wrapped in
 * QK_PASS_FAILED naming the failing pass and the ones that ran before it.
 */
export class Pipeline implements Pass {
  readonly info: PassInfo;
  readonly passes: readonly Pass[];

  constructor(name: string, phase: Phase, passes: readonly Pass[]) {
    this.info = { name, phase, summary: `pipeline of ${passes.length} passes` };
    this.passes = passes;
  }

  async run(model: Model, context: PassContext): Promise<PassResult> {
    const run = await this.execute(model, { march: context.march, options: { ...context.options } }, context);
    return { model: run.model, modified: run.modified };
  }

  async execute(model: Model, options: RunOptions = {}, parent?: PassContext): Promise<PipelineRun> {
    const diagnostics: PassDiagnostic[] = [];
    const timings: PipelineRun['timings'] = [];
    const ran: string[] = [];
    let current = model;
    let modified = false;
    for (const pass of this.passes) {
      const context: PassContext = {
        march: options.march,
        options: options.options ?? {},
        diagnose: (d) => {
          diagnostics.push({ ...d, pass: pass.info.name });
          parent?.diagnose(d);
        },
      };
      options.hooks?.before?.(pass, current);
      const start = performance.now();
      let result: PassResult;
      try {
        pass.requires?.(current, context);
        result = await pass.run(current, context);
        pass.ensures?.(result.model, context);
      } catch (cause) {
        const before = ran.length ? ` after ${ran.join(', ')}` : ' as the first pass';
        const inner = isQuantkitError(cause) ? cause.message : String((cause as Error)?.message ?? cause);
        throw new QuantkitError('QK_PASS_FAILED', `Pass '${pass.info.name}' (${pass.info.phase}) failed${before}: ${inner}`, {
          cause,
          hint: isQuantkitError(cause) ? cause.hint : 'This is a bug in the pass; please report it with the model.',
        });
      }
      const milliseconds = performance.now() - start;
      options.hooks?.after?.(pass, result, milliseconds);
      timings.push({ pass: pass.info.name, milliseconds, modified: result.modified });
      ran.push(pass.info.name);
      current = result.model;
      modified ||= result.modified;
    }
    return { model: current, modified, diagnostics, timings };
  }

  describe(): string[] {
    return this.passes.map((p) => p.info.name);
  }
}
