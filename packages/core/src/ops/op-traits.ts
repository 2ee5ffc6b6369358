/**
 * How quantkit treats each ONNX op (DESIGN §5):
 * - `gemm`: GEMM-like, runs on the BPU with int8 weights and int8/int16 activations;
 * - `elementwise`: quantized output, computed as a float island on the VPU;
 * - `passthrough`: moves or selects data without arithmetic, so it keeps its input's scale;
 * - `shape`: computes shapes or constants, never quantized.
 * An op with no trait stays float on the CPU and is reported.
 */
export type OpTrait = 'gemm' | 'elementwise' | 'passthrough' | 'shape';

const TRAITS: Record<string, OpTrait> = {};
const assign = (trait: OpTrait, ops: string[]) => ops.forEach((op) => (TRAITS[op] = trait));

assign('gemm', ['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
assign('elementwise', [
  'Abs', 'Add', 'AveragePool', 'BatchNormalization', 'Clip', 'Cos', 'Div', 'Elu', 'Erf', 'Exp', 'Gelu',
  'GlobalAveragePool', 'HardSigmoid', 'HardSwish', 'InstanceNormalization', 'LayerNormalization', 'LeakyRelu',
  'Log', 'LogSoftmax', 'Max', 'Min', 'Mish', 'Mul', 'Neg', 'Pow', 'PRelu', 'Reciprocal', 'ReduceMax', 'ReduceMean',
  'ReduceMin', 'ReduceSum', 'Relu', 'Resize', 'Selu', 'Sigmoid', 'Sin', 'Softmax', 'Softplus', 'Sqrt', 'Sub',
  'Tanh', 'Upsample', 'Where',
]);
assign('passthrough', [
  'Concat', 'DepthToSpace', 'Expand', 'Flatten', 'Gather', 'GlobalMaxPool', 'Identity', 'MaxPool', 'Pad',
  'Reshape', 'Slice', 'SpaceToDepth', 'Split', 'Squeeze', 'Tile', 'Transpose', 'Unsqueeze',
]);
assign('shape', ['Constant', 'ConstantOfShape', 'Range', 'Shape', 'Size']);

/** The trait of a standard-domain op, or undefined when no march handles it (a CPU fallback). */
export function opTrait(opType: string, domain = ''): OpTrait | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  // Own keys only: an op named 'constructor' or 'toString' must not find Object.prototype's members.
  return Object.hasOwn(TRAITS, opType) ? TRAITS[opType] : undefined;
}

/** The attributes nodeTrait reads: a Node, or anything shaped like one. */
interface NodeLike {
  readonly opType: string;
  readonly domain: string;
  attribute(name: string): { asString(): string } | undefined;
}

/**
 * The trait of one node: opTrait of its op type, except that a nearest-neighbour Resize (mode 'nearest', ONNX's
 * default) only copies input elements, so it is 'passthrough' (an integer tensor goes through with its scale); a
 * linear or cubic Resize stays 'elementwise' (a VPU island).
 */
export function nodeTrait(node: NodeLike): OpTrait | undefined {
  const trait = opTrait(node.opType, node.domain);
  if (trait === 'elementwise' && node.opType === 'Resize') {
    return (node.attribute('mode')?.asString() ?? 'nearest') === 'nearest' ? 'passthrough' : 'elementwise';
  }
  return trait;
}

export function isGemmLike(opType: string, domain = ''): boolean {
  return opTrait(opType, domain) === 'gemm';
}
