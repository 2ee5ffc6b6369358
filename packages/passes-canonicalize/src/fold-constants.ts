import { constantTensor, inferShapes, type Model, type Node, type Pass, type PassContext, type PassResult, type Value } from '@quantkit/core';
import { elementCount, fromTensor, toTensor, type ConstantValue } from './constant-value.js';
import { EVALUATORS, NotFoldable } from './evaluate-op.js';
import { runShapes } from './run-shapes.js';
import { dropIfDead, outputToInitializer } from './to-initializer.js';

/** A folded result larger than this, and larger than the constants it came from, stays computed (file size). */
export const MAX_GROWN_ELEMENTS = 1 << 16;

/** Ops that read only their input's shape, not its data. */
const SHAPE_READERS = new Set(['Shape', 'Size']);

const isStandard = (node: Node) => node.domain === '' || node.domain === 'ai.onnx';

/**
 * fold-constants (canonicalize) — computes at conversion time what the graph would compute from constants at run
 * time, so that a Clip gets constant bounds, a Resize constant scales / sizes and a Reshape a constant shape.
 *
 * A small evaluator (evaluate-op.ts) computes Shape, Size, Gather, Cast, Concat, Unsqueeze, Squeeze, Slice,
 * Reshape, Transpose, Range, ConstantOfShape, Expand, Where, Add / Sub / Mul / Div / Pow / Min / Max, the
 * comparisons, Floor / Ceil / Sqrt / Neg / Abs / Reciprocal / Not, exactly as onnxruntime does: float32 results
 * rounded to float32, integers wrapped, int64 in bigint.
 *
 * Cases:
 * 1. A node of those ops whose inputs are all constant (initializers or Constant outputs): its outputs become
 *    initializers of the same names, and the node goes.
 * 2. Shape / Size of a value whose shape is static once the input shapes are fixed (the canonicalize phase fixes
 *    them before this pass): folded from that shape, whatever the value's data.
 * 3. Chains fold in one run: a folded output counts as constant for the nodes after it; Shape nodes whose input
 *    shape is known only once earlier folds gave a Reshape / Resize its constant argument fold in a later sweep.
 *    When static inference (core's inferShapes) has no rule for an op on the way, one onnxruntime run on zeros
 *    gives the shapes, trusted only for values whose shape the input shapes decide (no NonZero / TopK / … and
 *    only constant shape arguments on the way to them).
 * 4. A node whose evaluation is not exact or not supported (a division of integers by zero, float16 data, an
 *    out-of-range index) is left alone.
 * 5. A result that would grow the model (more than MAX_GROWN_ELEMENTS elements and more than its constant
 *    inputs hold: ConstantOfShape, Expand of a large shape) stays computed.
 * 6. A node whose output is a graph output is left alone (the output keeps its producer).
 * 7. Nodes and initializers that nothing reads any more after folding are removed; initializers that were unused
 *    before, or that are graph inputs (overridable defaults), are kept.
 */
export const foldConstants: Pass = {
  info: {
    name: 'fold-constants',
    phase: 'canonicalize',
    summary: 'evaluates Shape / Gather / Cast / Concat / Slice / Reshape / arithmetic … over constants and static shapes',
    after: ['raise-opset', 'constant-to-initializer', 'eliminate-identity'],
  },
  async run(model: Model, context: PassContext): Promise<PassResult> {
    const { graph } = model;
    const usedInitializers = [...graph.initializers.values()].filter((v) => v.useCount > 0);
    let modified = false;
    let fromRun: Map<Value, number[]> | undefined;
    for (let sweep = 0; sweep < 16; sweep++) {
      const shapes: Map<Value, readonly number[]> = inferShapes(graph);
      const waitingOn = () => graph.nodes().filter((n) => SHAPE_READERS.has(n.opType) && isStandard(n) && n.inputs[0] && !shapes.has(n.inputs[0]));
      if (waitingOn().length > 0 && fromRun === undefined) fromRun = (await shapesFromRun(model, context)) ?? new Map();
      for (const [value, shape] of fromRun ?? []) if (!shapes.has(value)) shapes.set(value, shape);
      const folded = foldSweep(model, shapes, context);
      modified ||= folded > 0;
      if (folded === 0 || waitingOn().length === 0) break;
    }
    for (const node of graph.nodes().reverse()) if (isStandard(node) && dropIfDead(node)) modified = true;
    for (const value of usedInitializers) {
      if (value.useCount === 0 && !graph.outputs.includes(value) && !graph.inputs.includes(value) && graph.initializers.get(value.name) === value) {
        graph.removeInitializer(value);
      }
    }
    return { model, modified };
  },
};

async function shapesFromRun(model: Model, context: PassContext): Promise<Map<Value, number[]> | undefined> {
  try {
    return await runShapes(model);
  } catch (error) {
    context.diagnose({ level: 'info', message: `no shapes from an onnxruntime run on zeros: ${(error as Error).message}` });
    return undefined;
  }
}

function constantOf(value: Value | undefined): ConstantValue | undefined {
  if (value === undefined || value.name === '') return undefined;
  const tensor = constantTensor(value);
  return tensor && fromTensor(tensor);
}

function foldSweep(model: Model, shapes: Map<Value, readonly number[]>, context: PassContext): number {
  const { graph } = model;
  let folded = 0;
  for (const node of graph.nodes()) {
    const evaluate = EVALUATORS[node.opType];
    if (!evaluate || !isStandard(node) || node.graph !== graph) continue;
    if (node.outputs.some((v) => graph.outputs.includes(v))) continue;
    const shapeOnly = SHAPE_READERS.has(node.opType);
    const inputs = node.inputs.map(constantOf);
    const shape = shapeOnly && node.inputs[0] ? shapes.get(node.inputs[0]) : undefined;
    if (shapeOnly ? shape === undefined : node.inputs.some((v, i) => v !== undefined && v.name !== '' && inputs[i] === undefined)) continue;
    let results: ConstantValue[];
    try {
      results = evaluate({ node, inputs, shape });
    } catch (error) {
      if (!(error instanceof NotFoldable)) throw error;
      context.diagnose({ level: 'info', node: node.name, message: `${node.name || node.output.name} (${node.opType}) is not folded: ${error.message}.` });
      continue;
    }
    const inputSize = inputs.reduce((s, v) => s + (v?.data.length ?? 0), 0);
    if (results.some((r) => r.data.length > MAX_GROWN_ELEMENTS && r.data.length > inputSize)) continue;
    if (results.some((r) => r.data.length !== elementCount(r.dims))) continue;
    results.forEach((result, index) => {
      if (node.outputs[index] && node.outputs[index]!.name !== '') outputToInitializer(node, index, toTensor(result));
    });
    dropIfDead(node);
    folded++;
  }
  return folded;
}
