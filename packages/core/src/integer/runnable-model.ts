import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import { INTEGER_DOMAIN } from './integer-ops.js';
import { lowerToStandard } from './lower.js';

/** Whether a model holds quantkit integer ops (a quantized.onnx), which onnxruntime cannot run as they are. */
export function hasIntegerOps(model: Model): boolean {
  if (model.opsetImports.has(INTEGER_DOMAIN)) return true;
  for (const node of model.graph.allNodes()) if (node.domain === INTEGER_DOMAIN) return true;
  return false;
}

/**
 * The model every verb hands onnxruntime: a quantized.onnx (quantkit domain) goes through lowerToStandard — the
 * same lowering report.json runs, names of inputs and outputs kept — and any other model is returned as it is
 * (`copy`: a clone of it, for a caller that edits the result). The input model is never modified.
 */
export function runnableModel(model: Model, options: { copy?: boolean } = {}): Model {
  if (hasIntegerOps(model)) return lowerToStandard(model);
  return (options.copy ?? false) ? cloneModel(model) : model;
}
