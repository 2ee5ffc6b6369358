import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { cloneModel } from '../ir/clone.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import { inferElemTypes } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import { tensorElemType, tensorType } from '../ir/type-info.js';
import type { OutputTensor } from './ort.js';

/** Where a run finds an exposed value: fetched as an output, taken from the feeds, or a constant. */
export type ValueSource = { kind: 'output' } | { kind: 'input' } | { kind: 'constant'; tensor: Tensor };

export interface ExposedModel {
  /** A copy of the model whose graph outputs include every value of kind 'output'. */
  readonly model: Model;
  readonly sources: ReadonlyMap<string, ValueSource>;
  /** The names to fetch from a session of `model` (the exposed values computed by nodes, in the order given). */
  readonly fetch: readonly string[];
}

/** A float tensor as observers and metrics take it. */
export interface FloatTensor {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/**
 * A copy of `model` in which every named value computed by a node is also a graph output, so that one inference
 * returns it (the input model is not changed). Graph inputs and initializers are not added: onnxruntime already
 * has them, so the run reads them from the feeds or the constant. Values only float tensors can be exposed
 * ({@link readFloat} converts float64); `what` names the model in errors.
 */
export function exposeValues(model: Model, names: Iterable<string>, what: string): ExposedModel {
  const copy = cloneModel(model);
  const { graph } = copy;
  const byName = graph.valuesByName();
  const types = inferElemTypes(graph);
  const outputs = new Set(graph.outputs.map((value) => value.name));
  const sources = new Map<string, ValueSource>();
  const fetch: string[] = [];
  for (const name of names) {
    if (sources.has(name)) continue;
    const value = byName.get(name);
    if (value === undefined) {
      throw new QuantkitError('QK_GRAPH_INVALID', `${what} has no tensor named '${name}' in its main graph`, {
        subject: name,
        hint: 'Tensors inside subgraphs (If / Loop bodies) cannot be observed; check the tensor name.',
      });
    }
    const elemType = types.get(value) ?? tensorElemType(value.type);
    if (elemType !== undefined && elemType !== DataType.FLOAT && elemType !== DataType.DOUBLE) {
      throw new QuantkitError(
        'QK_UNSUPPORTED',
        `Tensor '${name}' of ${what} is ${dtypeName(elemType)}; only float tensors can be observed or compared`,
        { subject: name },
      );
    }
    if (value.constValue !== undefined) {
      sources.set(name, { kind: 'constant', tensor: value.constValue });
    } else if (value.producer() === undefined) {
      sources.set(name, { kind: 'input' });
    } else {
      sources.set(name, { kind: 'output' });
      fetch.push(name);
      if (!outputs.has(name)) {
        // A graph output needs a type in ONNX; the element type is enough, onnxruntime infers the shape.
        if (tensorElemType(value.type) === undefined) value.type = tensorType(elemType ?? DataType.FLOAT);
        graph.addOutput(value);
        outputs.add(name);
      }
    }
  }
  return { model: copy, sources, fetch };
}

/** Float32 data of an array; float64 is converted (a copy), other dtypes are refused. */
export function floatData(name: string, dtype: string, data: ArrayLike<number | bigint>): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array) return Float32Array.from(data);
  throw new QuantkitError('QK_UNSUPPORTED', `Tensor '${name}' is ${dtype}; only float tensors can be observed`, {
    subject: name,
  });
}

/** Reads an exposed value after one run: from the outputs, from the feeds, or from the constant. */
export function readFloat(
  name: string,
  source: ValueSource,
  outputs: ReadonlyMap<string, OutputTensor>,
  feeds: ReadonlyMap<string, NpyArray>,
): FloatTensor {
  switch (source.kind) {
    case 'output': {
      const output = outputs.get(name);
      if (output === undefined) throw new QuantkitError('QK_RUNTIME', `The run returned no tensor '${name}'`);
      return { dims: output.dims, data: floatData(name, output.dtype, output.data) };
    }
    case 'input': {
      const feed = feeds.get(name);
      if (feed === undefined) {
        throw new QuantkitError('QK_CALIB_DATA', `No data was fed for model input '${name}'`, { subject: name });
      }
      return { dims: feed.shape, data: floatData(name, feed.dtype, feed.data) };
    }
    case 'constant':
      return { dims: source.tensor.dims, data: source.tensor.toFloat32() };
  }
}
