import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import { inferElemTypes } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';

/** The first ai.onnx opset whose ScatterElements has `reduction: 'add'`, which the in-graph histogram needs. */
export const HISTOGRAM_MIN_OPSET = 16;

/** What to compute inside the graph for one tensor: always its range; its |x| histogram when `histogramBins` is set. */
export interface SummaryRequest {
  /** A float tensor computed by a node of the model. */
  name: string;
  /** Bins per sign (a power of two) of the |x| histogram, on the batch's own power-of-two range. */
  histogramBins?: number;
}

/** The graph outputs holding one tensor's summary. */
export interface SummaryOutputs {
  /** Element count, int64 scalar. */
  count: string;
  /** Smallest / largest element and the sum of all elements (NaN there reveals NaN in the data), float scalars. */
  min: string;
  max: string;
  sum: string;
  /** With a histogram: the range 2^e the graph chose (float scalar), and the 2·bins + 1 signed bin counts (int64). */
  range?: string;
  counts?: string;
}

export interface SummaryModel {
  /** A copy of the model whose graph outputs are the summaries (the original outputs are kept). */
  readonly model: Model;
  readonly outputs: ReadonlyMap<string, SummaryOutputs>;
  /** Every summary output name, to fetch. */
  readonly fetch: readonly string[];
}

/**
 * Adds, to a copy of `model`, reductions that summarise each requested tensor so that a run returns a few scalars
 * per tensor instead of the tensor (the input model is not changed):
 * 1. count (Size), min and max (ReduceMin / ReduceMax over all axes) and sum (ReduceSum, only to reveal NaN: a NaN
 *    anywhere makes it NaN, whatever the min / max kernels do with NaN);
 * 2. with `histogramBins` B: the |x| histogram of the batch as the MSE observer bins it — the range R = 2^e is the
 *    smallest power of two above max |x| (from floor(log2) and two corrections, so it is exact), bin
 *    ±ceil(|x|·B/R) by sign (exact: B/R is a power of two), counted by ScatterElements(reduction 'add') into
 *    2·B + 1 int64 counts. The caller checks the range against its own exact computation (float32 cannot hold
 *    B/R for tiny or huge ranges) and recomputes from the elements when they differ; max |x| is clamped to
 *    [2^-100, 2^100] first, so that the indices stay finite (an all-zero batch is binned by the caller).
 * Histograms need opset {@link HISTOGRAM_MIN_OPSET}; the caller asks for them only then. Double tensors are
 * summarised in double.
 */
export function addSummaries(model: Model, requests: readonly SummaryRequest[]): SummaryModel {
  const copy = cloneModel(model);
  const { graph } = copy;
  const byName = graph.valuesByName();
  const types = inferElemTypes(graph);
  const outputs = new Map<string, SummaryOutputs>();
  const fetch: string[] = [];
  let serial = 0;
  const fresh = (base: string) => graph.uniqueName(`${base}__qk${serial++}`);
  const emit = (opType: string, inputs: readonly (Value | undefined)[], attributes: Record<string, number | Tensor> = {}, type?: number) => {
    const out = new Value(fresh(opType));
    if (type !== undefined) out.type = tensorType(type, []);
    graph.append(new Node({ opType, name: out.name, inputs, outputs: [out], attributes }));
    return out;
  };
  const constant = (data: Float32Array | Float64Array | BigInt64Array, dims: number[] = []) => {
    const value = new Value(fresh('const'));
    const dtype = data instanceof Float64Array ? DataType.DOUBLE : data instanceof BigInt64Array ? DataType.INT64 : DataType.FLOAT;
    graph.addInitializer(value, Tensor.fromArray(data, dims, { dtype, name: value.name }));
    return value;
  };
  const expose = (value: Value, type: number) => {
    value.type = tensorType(type);
    graph.addOutput(value);
    fetch.push(value.name);
    return value.name;
  };
  for (const request of requests) {
    if (outputs.has(request.name)) continue;
    const x = byName.get(request.name)!;
    const elem = types.get(x) === DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT;
    const scalar = (v: number) => (elem === DataType.DOUBLE ? constant(Float64Array.of(v)) : constant(Float32Array.of(v)));
    const reduce = (op: string, input: Value) => emit(op, [input], { keepdims: 0 });
    const result: SummaryOutputs = {
      count: expose(emit('Size', [x]), DataType.INT64),
      min: expose(reduce('ReduceMin', x), elem),
      max: expose(reduce('ReduceMax', x), elem),
      sum: expose(reduce('ReduceSum', x), elem),
    };
    const bins = request.histogramBins;
    if (bins !== undefined) {
      const abs = emit('Abs', [x]);
      // Clamped so that the range stays a normal float32 power of two (an all-zero batch would give log 0 = −∞);
      // the caller rejects the clamped ranges.
      const amax = emit('Min', [emit('Max', [reduce('ReduceMax', abs), scalar(2 ** -100)]), scalar(2 ** 100)]);
      // e0 = floor(log2(amax)) + 1, then R = 2^e0 corrected once up and once down, so that R/2 <= amax < R.
      const e0 = emit('Add', [emit('Floor', [emit('Mul', [emit('Log', [amax]), scalar(1 / Math.LN2)])]), scalar(1)]);
      const two = scalar(2);
      let range = emit('Pow', [two, e0]);
      range = emit('Where', [emit('LessOrEqual', [range, amax]), emit('Mul', [range, two]), range]);
      const half = emit('Div', [range, two]);
      range = emit('Where', [emit('Greater', [half, amax]), half, range]);
      const inv = emit('Div', [scalar(bins), range]);
      const y = emit('Mul', [x, inv]);
      const signed = emit('Add', [emit('Mul', [emit('Ceil', [emit('Abs', [y])]), emit('Sign', [y])]), scalar(bins)]);
      const index = emit('Reshape', [emit('Cast', [signed], { to: DataType.INT64 }), constant(BigInt64Array.of(-1n), [1])]);
      const ones = emit('ConstantOfShape', [emit('Shape', [index])], {
        value: Tensor.fromArray(BigInt64Array.of(1n), [1], { dtype: DataType.INT64 }),
      });
      const zeros = constant(new BigInt64Array(2 * bins + 1), [2 * bins + 1]);
      const counts = new Value(fresh('counts'));
      graph.append(
        new Node({
          opType: 'ScatterElements',
          name: counts.name,
          inputs: [zeros, index, ones],
          outputs: [counts],
          attributes: { axis: 0, reduction: 'add' },
        }),
      );
      result.range = expose(range, elem);
      result.counts = expose(counts, DataType.INT64);
    }
    outputs.set(request.name, result);
  }
  return { model: copy, outputs, fetch };
}
