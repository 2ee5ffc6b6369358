import { inferShapesByRunning, inputSpecs, npyDtypeOf, tensorElemType, typedArrayCtor, type Model, type Node, type NpyArray, type Value } from '@quantkit/core';

/** Ops whose output shape depends on input data, not only on input shapes. */
const DATA_SHAPED = new Set(['NonZero', 'Unique', 'Compress', 'NonMaxSuppression', 'TopK', 'Loop', 'If', 'Scan', 'StringSplit']);

/** Ops whose inputs after the first are shape arguments (sizes, axes, pads, repeats…). */
const SHAPE_ARGUMENTS = new Set([
  'Reshape', 'Expand', 'Tile', 'Resize', 'Upsample', 'ConstantOfShape', 'Range', 'Slice', 'Pad', 'OneHot', 'Squeeze',
  'Unsqueeze', 'Split', 'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'CenterCropPad', 'RandomNormalLike', 'RandomUniformLike',
]);

/**
 * The values whose shape follows from the input shapes alone: every op on the path to them either keeps shapes
 * independent of data (elementwise, Conv, pooling…) or reads its shape arguments from constants. A shape taken
 * from one run is then the shape of every run with the same input shapes.
 */
export function shapeStaticValues(model: Model): Set<Value> {
  const { graph } = model;
  const trusted = new Set<Value>([...graph.inputs, ...graph.initializers.values()]);
  const isConstant = (v: Value | undefined) => v === undefined || v.name === '' || v.constValue !== undefined || constantNode(v.producer());
  for (const node of graph) {
    const inputs = node.inputs.filter((v): v is Value => v !== undefined && v.name !== '');
    if (DATA_SHAPED.has(node.opType) || node.subgraphs().length > 0) continue;
    if (!inputs.every((v) => trusted.has(v))) continue;
    if ((node.opType === 'ConstantOfShape' || SHAPE_ARGUMENTS.has(node.opType)) && !node.inputs.slice(node.opType === 'ConstantOfShape' ? 0 : 1).every(isConstant)) continue;
    for (const output of node.outputs) trusted.add(output);
  }
  return trusted;
}

function constantNode(node: Node | undefined): boolean {
  return node?.opType === 'Constant' && (node.domain === '' || node.domain === 'ai.onnx');
}

/** Zero-filled inputs of the model's declared shapes, or undefined when a dim is not fixed or a dtype not feedable. */
export function zeroFeeds(model: Model): Map<string, NpyArray> | undefined {
  const feeds = new Map<string, NpyArray>();
  for (const spec of inputSpecs(model)) {
    if (!spec.shape.every((d): d is number => typeof d === 'number')) return undefined;
    const value = model.graph.inputs.find((v) => v.name === spec.name)!;
    const elemType = tensorElemType(value.type)!;
    const Ctor = typedArrayCtor(elemType);
    if (!Ctor || npyDtypeOf(elemType) !== spec.dtype) return undefined;
    const size = spec.shape.reduce((a, b) => a * b, 1);
    feeds.set(spec.name, { dtype: spec.dtype, shape: [...spec.shape], data: new Ctor(size) } as NpyArray);
  }
  return feeds;
}

/**
 * Shapes from one onnxruntime run on zeros, kept only for the values whose shape the input shapes decide
 * (shapeStaticValues). Undefined when the inputs have symbolic dims.
 */
export async function runShapes(model: Model): Promise<Map<Value, number[]> | undefined> {
  const feeds = zeroFeeds(model);
  if (!feeds) return undefined;
  const byName = await inferShapesByRunning(model, feeds);
  const shapes = new Map<Value, number[]>();
  for (const value of shapeStaticValues(model)) {
    const shape = byName.get(value.name);
    if (shape) shapes.set(value, shape);
  }
  return shapes;
}
