import { QuantkitError } from '../errors/quantkit-error.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import { tensorElemType, tensorShape, tensorType } from '../ir/type-info.js';
import { verifyModel } from '../ir/verify.js';
import type { Pipeline } from '../pass/pass-manager.js';
import type { PassDiagnostic } from '../pass/pass.js';
import { fixInputShapes, resolveInputShapes, type InputShape, type ResolvedInputShapes } from './input-shapes.js';
import { opHistogram } from './op-histogram.js';

export interface CanonicalizeOptions {
  /** The canonicalize-phase passes (Quantkit.pipeline('canonicalize')); none: only the input shapes are fixed. */
  pipeline?: Pipeline;
  /** `--input-shape` values; checked against the model. */
  inputShapes?: readonly InputShape[];
  /** The first calibration sample's input shapes, which fix the symbolic dims no `inputShapes` entry fixes. */
  sample?: { id: string; shapes: ReadonlyMap<string, readonly number[]> };
}

/** What canonicalize did, for report.json. */
export interface CanonicalizeSummary {
  /** The passes that ran, in order, and whether each changed the model. */
  passes: { pass: string; modified: boolean }[];
  /** Node counts per op type before and after the phase. */
  ops: { before: Record<string, number>; after: Record<string, number> };
  nodes: { before: number; after: number };
}

export interface CanonicalizeResult {
  /** A new model; the input is not modified. */
  model: Model;
  diagnostics: PassDiagnostic[];
  /** The shape each input was fixed to, and where it came from. */
  inputShapes: ResolvedInputShapes;
  summary: CanonicalizeSummary;
}

/**
 * Drops the declared shapes of values computed inside the graph: exporters write them for the shapes they traced
 * with, which the fixed input shapes may contradict. Element types stay; graph outputs keep theirs.
 */
function forgetInnerShapes(model: Model): void {
  const { graph } = model;
  for (const node of graph) {
    for (const value of node.outputs) {
      const elemType = tensorElemType(value.type);
      if (elemType === undefined || graph.outputs.includes(value) || tensorShape(value.type) === undefined) continue;
      value.type = tensorType(elemType);
    }
  }
}

const count = (ops: Record<string, number>) => Object.values(ops).reduce((a, b) => a + b, 0);

/**
 * The canonicalize phase: on a copy of `model`, fixes the input shapes (the given ones, else the sample's, else
 * the model's), runs the canonicalize pipeline — which rewrites the float graph into what the hardware runs
 * without changing its float function — and verifies that the result is a valid graph.
 */
export async function canonicalize(model: Model, options: CanonicalizeOptions = {}): Promise<CanonicalizeResult> {
  const misplaced = options.pipeline?.passes.filter((p) => p.info.phase !== 'canonicalize') ?? [];
  if (misplaced.length > 0) {
    throw new QuantkitError(
      'QK_CONFIG',
      `canonicalize() runs canonicalize-phase passes only; got ${misplaced.map((p) => `'${p.info.name}' (${p.info.phase})`).join(', ')}.`,
      { hint: "Build the pipeline with quantkit.pipeline('canonicalize')." },
    );
  }
  const inputShapes = resolveInputShapes(model, options.inputShapes ?? [], options.sample);
  const before = opHistogram(model);
  let result = cloneModel(model);
  if (fixInputShapes(result, inputShapes)) forgetInnerShapes(result);
  const diagnostics: PassDiagnostic[] = [];
  const passes: CanonicalizeSummary['passes'] = [];
  if (options.pipeline && options.pipeline.passes.length > 0) {
    const run = await options.pipeline.execute(result);
    result = run.model;
    diagnostics.push(...run.diagnostics);
    passes.push(...run.timings.map((t) => ({ pass: t.pass, modified: t.modified })));
    verifyModel(result, 'the canonical model');
  }
  const after = opHistogram(result);
  return {
    model: result,
    diagnostics,
    inputShapes,
    summary: { passes, ops: { before, after }, nodes: { before: count(before), after: count(after) } },
  };
}
