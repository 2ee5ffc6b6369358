import type { NpyArray } from '../data/npy.js';
import { DataType } from '../ir/dtype.js';
import { inferElemTypes } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import { tensorElemType, tensorShape, tensorType } from '../ir/type-info.js';
import { runnableModel } from '../integer/runnable-model.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';

/** Element types onnxruntime-node hands back (runtime/ort.ts reads no others). */
const READABLE = new Set<number>([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.INT8,
  DataType.UINT8,
  DataType.INT16,
  DataType.UINT16,
  DataType.INT32,
  DataType.UINT32,
  DataType.INT64,
  DataType.UINT64,
  DataType.BOOL,
]);

/**
 * The shape of every value of `model`, by name, from one onnxruntime run on `feeds` — the robust path when static
 * inference (inferShapes) meets an op it has no rule for, or symbolic dims. Integer IR runs through its lowering
 * to standard ONNX (lowerToStandard keeps the names of the values it lowers); every value a node computes is made
 * a graph output of a copy, so the model itself is not changed. Graph inputs take the feeds' shapes, initializers
 * their own. Values of a type onnxruntime-node cannot hand back (float16, strings) are left out.
 */
export async function inferShapesByRunning(
  model: Model,
  feeds: ReadonlyMap<string, NpyArray>,
  options: { threads?: number } = {},
): Promise<Map<string, number[]>> {
  const shapes = new Map<string, number[]>();
  for (const [name, value] of model.graph.initializers) shapes.set(name, [...value.constValue!.dims]);
  for (const [name, feed] of feeds) shapes.set(name, [...feed.shape]);
  const wanted = new Set<string>();
  for (const node of model.graph) for (const output of node.outputs) if (output.name !== '') wanted.add(output.name);

  const runnable = runnableModel(model, { copy: true });
  const { graph } = runnable;
  const types = inferElemTypes(graph);
  const byName = graph.valuesByName();
  const outputs = new Set(graph.outputs.map((value) => value.name));
  const fetch: string[] = [];
  for (const name of wanted) {
    const value = byName.get(name);
    if (value === undefined || value.producer() === undefined) continue;
    const elemType = types.get(value) ?? tensorElemType(value.type);
    if (elemType === undefined || !READABLE.has(elemType)) continue;
    if (!outputs.has(name)) {
      // A graph output needs a type; the element type is enough, onnxruntime infers the shape.
      value.type = tensorType(elemType, tensorShape(value.type));
      graph.addOutput(value);
      outputs.add(name);
    }
    fetch.push(name);
  }
  const session = await createSession(runnable, { graphOptimizationLevel: 'disabled', threads: options.threads, name: 'the model (run for shapes)' });
  try {
    const results = await runSession(session, feeds, fetch);
    for (const [name, tensor] of results) shapes.set(name, [...tensor.dims]);
  } finally {
    await releaseSession(session);
  }
  return shapes;
}
