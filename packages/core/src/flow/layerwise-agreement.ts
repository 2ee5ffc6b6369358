import type { NpyArray } from '../data/npy.js';
import { integerDtypeOf } from '../convert/integer-nodes.js';
import { lowerToStandard } from '../integer/lower.js';
import { ONNX_TYPE_OF } from '../integer/ndarray.js';
import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import { Graph } from '../ir/graph.js';
import { inferElemTypes, isFloatType } from '../ir/infer-types.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { tensorType } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { createSession, releaseSession, runSession, toNpyArray, type OutputTensor } from '../runtime/ort.js';
import { lsbAgreement } from './lsb-agreement.js';

export interface LayerAgreement {
  /** The integer model's tensor (its twin in qat.onnx has the same name). */
  tensor: string;
  /** Fraction of elements within one LSB of qat.onnx's tensor when both are computed from the same inputs. */
  lsbAgreement: number;
  elements: number;
}

const NARROW_INTEGERS = new Set<number>([DataType.INT8, DataType.INT16, DataType.UINT8]);

/** Runs `model` once with extra graph outputs for `names` (any dtype). */
async function runExposing(model: Model, names: readonly string[], feeds: ReadonlyMap<string, NpyArray>): Promise<Map<string, OutputTensor>> {
  const copy = cloneModel(model);
  const byName = copy.graph.valuesByName();
  const types = inferElemTypes(copy.graph);
  const existing = new Set(copy.graph.outputs.map((v) => v.name));
  const fetch: string[] = [];
  for (const name of names) {
    const value = byName.get(name);
    if (!value || value.constValue || copy.graph.inputs.includes(value)) continue;
    if (!existing.has(name)) {
      if (!value.type) value.type = tensorType(types.get(value) ?? DataType.FLOAT);
      copy.graph.addOutput(value);
      existing.add(name);
    }
    fetch.push(name);
  }
  for (const value of copy.graph.outputs) if (!fetch.includes(value.name)) fetch.push(value.name);
  const session = await createSession(copy, { graphOptimizationLevel: 'basic', name: 'qat.onnx' });
  try {
    const outputs = await runSession(session, feeds, fetch);
    for (const [name, array] of feeds) outputs.set(name, { dtype: array.dtype, dims: array.shape, data: array.data } as OutputTensor);
    return outputs;
  } finally {
    await releaseSession(session);
  }
}

/**
 * The smallest piece of the integer model that computes `target` from tensors qat.onnx also has (its checkpoints)
 * and constants: walks producers back until every input is a checkpoint or a constant.
 */
function segment(integer: Model, target: Value, checkpoints: ReadonlyMap<string, OutputTensor>, usable: (value: Value) => boolean): Model {
  const nodes = new Set<Node>();
  const inputs = new Set<Value>();
  const constants = new Set<Value>();
  const visit = (value: Value) => {
    if (value.constValue) {
      constants.add(value);
      return;
    }
    const producer = value.producer();
    if (value !== target && usable(value)) {
      inputs.add(value);
      return;
    }
    if (!producer) {
      inputs.add(value);
      return;
    }
    if (nodes.has(producer)) return;
    nodes.add(producer);
    for (const input of producer.inputs) if (input) visit(input);
  };
  visit(target);
  const graph = new Graph(`segment ${target.name}`);
  const map = new Map<Value, Value>();
  const copy = (value: Value) => {
    let mapped = map.get(value);
    if (!mapped) {
      mapped = new Value(value.name, { type: value.type });
      map.set(value, mapped);
    }
    return mapped;
  };
  for (const value of inputs) {
    const data = checkpoints.get(value.name)!;
    const mapped = copy(value);
    mapped.type = tensorType(ONNX_TYPE_OF[data.dtype], data.dims);
    graph.addInput(mapped);
  }
  for (const value of constants) graph.addInitializer(copy(value), value.constValue);
  for (const node of integer.graph) {
    if (!nodes.has(node)) continue;
    const clone = new Node({
      opType: node.opType,
      domain: node.domain,
      name: node.name,
      inputs: node.inputs.map((v) => (v ? copy(v) : undefined)),
      outputs: node.outputs.map(copy),
      attributes: [...node.attributes.values()],
    });
    graph.append(clone);
  }
  graph.addOutput(copy(target));
  const model = new Model(graph, { irVersion: integer.irVersion, opsetImports: Object.fromEntries(integer.opsetImports) });
  return model;
}

function toFloat(data: ArrayLike<number | bigint>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number);
}

/**
 * Layer-wise agreement of the integer model with the QDQ simulation: every integer (int8 / int16) tensor the two
 * share, and every graph output, is recomputed by the integer model's own piece of graph from qat.onnx's values
 * of that piece's inputs, and compared with qat.onnx's tensor — within one integer step, or for a graph output
 * within `outputLsb`. End to end, one-step differences (float32 rounding in the QDQ simulation against exact
 * integer arithmetic) compound through deep networks; layer by layer they do not, so this checks the conversion
 * itself.
 */
export async function layerwiseAgreement(
  qat: Model,
  integer: Model,
  feeds: ReadonlyMap<string, NpyArray>,
  outputLsb: (output: string, dims: readonly number[], reference: Float32Array) => Float32Array | number,
): Promise<LayerAgreement[]> {
  const names = new Set<string>();
  for (const node of integer.graph) for (const value of [...node.inputs, ...node.outputs]) if (value && !value.constValue) names.add(value.name);
  const checkpoints = await runExposing(qat, [...names], feeds);
  const outputs = new Set(integer.graph.outputs.map((v) => v.name));
  // A name both models share is a checkpoint only where both hold the same kind of data: a pass-through op runs
  // on integers in the integer model and on dequantized floats in qat.onnx under the same output name.
  const usable = (value: Value): boolean => {
    const twin = checkpoints.get(value.name);
    if (!twin) return false;
    const integerHere = integerDtypeOf(value) !== undefined;
    return integerHere === !isFloatType(ONNX_TYPE_OF[twin.dtype]);
  };
  const targets: Value[] = [];
  for (const node of integer.graph) {
    for (const value of node.outputs) {
      if (!usable(value)) continue;
      const twin = checkpoints.get(value.name)!;
      if (outputs.has(value.name) || NARROW_INTEGERS.has(ONNX_TYPE_OF[twin.dtype])) targets.push(value);
    }
  }
  const results: LayerAgreement[] = [];
  for (const target of targets) {
    const piece = lowerToStandard(segment(integer, target, checkpoints, usable));
    const session = await createSession(piece, { graphOptimizationLevel: 'basic', name: `the integer model's ${target.name}` });
    let computed: OutputTensor;
    try {
      const pieceFeeds = new Map<string, NpyArray>();
      for (const input of piece.graph.inputs) {
        const data = checkpoints.get(input.name)!;
        pieceFeeds.set(input.name, toNpyArray(data));
      }
      computed = (await runSession(session, pieceFeeds, [target.name])).get(target.name)!;
    } finally {
      await releaseSession(session);
    }
    const reference = toFloat(checkpoints.get(target.name)!.data as ArrayLike<number>);
    const test = toFloat(computed.data as ArrayLike<number>);
    const isFloat = isFloatType(ONNX_TYPE_OF[computed.dtype]);
    const lsb = isFloat ? outputLsb(target.name, computed.dims, reference) : 1;
    results.push({ tensor: target.name, lsbAgreement: lsbAgreement(reference, test, lsb), elements: reference.length });
  }
  return results.sort((a, b) => a.lsbAgreement - b.lsbAgreement || a.tensor.localeCompare(b.tensor));
}
