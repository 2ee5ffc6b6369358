import { DataType } from '../ir/dtype.js';
import { inferElemTypes } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import { tensorElemType } from '../ir/type-info.js';
import type { SummaryNeeds } from '../quant/observer.js';
import { exposeValues, type ValueSource } from '../runtime/expose-values.js';
import { addSummaries, HISTOGRAM_MIN_OPSET, type SummaryOutputs, type SummaryRequest } from './summary-graph.js';

/** The model a calibration run executes, and where it finds each observed tensor. */
export interface CalibrationModel {
  readonly model: Model;
  /** Every observed tensor's source (a summarised one is an 'output' of the model without summaries). */
  readonly sources: ReadonlyMap<string, ValueSource>;
  /** The summarised tensors: where their summaries are, and the histogram bins asked for. */
  readonly summaries: ReadonlyMap<string, { outputs: SummaryOutputs; histogramBins?: number }>;
  readonly fetch: readonly string[];
}

/**
 * The model calibration runs: a copy of the prepared model in which every observed tensor is summarised inside
 * the graph (see addSummaries) when its observer can take a summary (`needsOf` its dtype is defined) and the
 * summary is exact for it, and exposed as a graph output otherwise:
 * 1. summarised: tensors computed by nodes, float32 (or double when no histogram is needed), and for a histogram
 *    a model at opset {@link HISTOGRAM_MIN_OPSET} or later;
 * 2. exposed: everything else computed by a node; graph inputs and constants are read from the feeds and the
 *    constant, as before.
 * The input model is not modified.
 */
export function calibrationModel(
  prepared: Model,
  targets: readonly { name: string; dtype: string }[],
  needsOf: (dtype: string) => SummaryNeeds | undefined,
  what: string,
): CalibrationModel {
  const byName = prepared.graph.valuesByName();
  const types = inferElemTypes(prepared.graph);
  const requests: SummaryRequest[] = [];
  const exposed: string[] = [];
  for (const { name, dtype } of targets) {
    const value = byName.get(name);
    const needs = needsOf(dtype);
    const elem = value === undefined ? undefined : (types.get(value) ?? tensorElemType(value.type));
    const computed = value !== undefined && value.constValue === undefined && value.producer() !== undefined;
    const bins = needs?.histogramBins;
    const exact =
      bins === undefined ? elem === DataType.FLOAT || elem === DataType.DOUBLE : elem === DataType.FLOAT && prepared.opset >= HISTOGRAM_MIN_OPSET;
    if (computed && needs !== undefined && exact) requests.push({ name, histogramBins: bins });
    else exposed.push(name);
  }
  const base = exposeValues(prepared, exposed, what);
  const summary = addSummaries(base.model, requests);
  const sources = new Map(base.sources);
  const summaries = new Map<string, { outputs: SummaryOutputs; histogramBins?: number }>();
  for (const { name, histogramBins } of requests) {
    sources.set(name, { kind: 'output' });
    summaries.set(name, { outputs: summary.outputs.get(name)!, histogramBins });
  }
  return { model: summary.model, sources, summaries, fetch: [...base.fetch, ...summary.fetch] };
}
