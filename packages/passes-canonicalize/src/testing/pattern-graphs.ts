import { Attribute, DataType, GraphBuilder, Tensor, type Model, type Value } from '@quantkit/core';
import type { Feeds } from './run-float.js';

/** Deterministic values in about [-1, 1] (plus `offset`), different for each `seed`. */
export function wave(count: number, seed: number, offset = 0): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i * 1.37 + seed * 2.11) + offset);
}

/** A small graph in code and an input to run it on. */
export interface PatternGraph {
  readonly model: Model;
  readonly feeds: Feeds;
}

const C = 4;
const H = 5;
const W = 6;

/** A graph builder with input x [1, C, H, W] (or `dims`), and that input's feed. */
export function imageGraph(dims: number[] = [1, C, H, W]) {
  const b = new GraphBuilder('pattern');
  const x = b.input('x', DataType.FLOAT, dims);
  const size = dims.reduce((a, d) => a * d, 1);
  const feeds: Feeds = { x: { dims, data: wave(size, 7, 0).map((v, i) => v * 4 + (i % 3) - 1) } };
  const constant = (name: string, data: Float32Array, shape: number[]) => b.initializer(name, Tensor.fromArray(data, shape));
  /** A Constant node holding `data`, as paddle2onnx writes weights. */
  const constantNode = (name: string, data: Float32Array, shape: number[]) =>
    b.node('Constant', [], { name, attributes: { value: Attribute.tensor('value', Tensor.fromArray(data, shape)) } })[0]!;
  const scalar = (name: string, v: number) => constant(name, new Float32Array([v]), []);
  const finish = (y: Value, opset = 17): PatternGraph => {
    b.output(y);
    return { model: b.model({ '': opset }, 8), feeds };
  };
  return { b, x, constant, constantNode, scalar, finish };
}

/** A BatchNormalization reading `input` with constant parameters for `channels` channels. */
export function batchNorm(
  g: ReturnType<typeof imageGraph>,
  input: Value,
  channels: number,
  scale: Value = g.constant('bn_scale', wave(channels, 1, 1.2), [channels]),
): Value {
  const [y] = g.b.node(
    'BatchNormalization',
    [
      input,
      scale,
      g.constant('bn_b', wave(channels, 2), [channels]),
      g.constant('bn_mean', wave(channels, 3), [channels]),
      g.constant('bn_var', wave(channels, 4, 1.5), [channels]),
    ],
    { name: 'bn', attributes: { epsilon: Attribute.float('epsilon', 1e-5) } },
  );
  return y!;
}

/** A Conv with `out` output channels over `inChannels` (3×3, pad 1 unless `pads` says otherwise). */
export function conv(
  g: ReturnType<typeof imageGraph>,
  input: Value,
  options: { out?: number; inChannels?: number; kernel?: number; pad?: number; group?: number; bias?: boolean; name?: string } = {},
): Value {
  const { out = C, inChannels = C, kernel = 3, pad = 1, group = 1, bias = false, name = 'conv' } = options;
  const weightDims = [out, inChannels / group, kernel, kernel];
  const weight = g.constant(`${name}_w`, wave(weightDims.reduce((a, d) => a * d, 1), 5), weightDims);
  const inputs = [input, weight];
  if (bias) inputs.push(g.constant(`${name}_b`, wave(out, 6), [out]));
  const [y] = g.b.node('Conv', inputs, {
    name,
    attributes: { kernel_shape: [kernel, kernel], pads: [pad, pad, pad, pad], group },
  });
  return y!;
}


type G = ReturnType<typeof imageGraph>;

/** HardSwish spelled the paddle2onnx way: `x·Clip(x+3, 0, 6) / 6` with Clip bounds as Constant inputs. */
function hardSwishDiv(g: G, x: Value, shift = 3): Value {
  const [added] = g.b.node('Add', [x, g.scalar('three', shift)]);
  const [clipped] = g.b.node('Clip', [added, g.constantNode('zero', new Float32Array([0]), []), g.scalar('six', 6)]);
  const [product] = g.b.node('Mul', [x, clipped]);
  return g.b.node('Div', [product, g.scalar('six_d', 6)])[0]!;
}

/** `(1/6)·(Relu6(x+3)·x)` with Relu6 as Relu then Clip, bounds through Cast of int Constants. */
function hardSwishReluCast(g: G, x: Value): Value {
  const castOf = (name: string, v: number) => {
    const [c] = g.b.node('Constant', [], { name, attributes: { value: Attribute.tensor('value', Tensor.fromArray(new BigInt64Array([BigInt(v)]), [])) } });
    return g.b.node('Cast', [c], { attributes: { to: DataType.FLOAT } })[0]!;
  };
  const [added] = g.b.node('Add', [g.scalar('three', 3), x]);
  const [relu] = g.b.node('Relu', [added]);
  const [clipped] = g.b.node('Clip', [relu, castOf('lo', 0), castOf('hi', 6)]);
  const [product] = g.b.node('Mul', [clipped, x]);
  return g.b.node('Mul', [g.scalar('sixth', 1 / 6), product])[0]!;
}

function affine(g: G, x: Value, channels = C): Value {
  const [scaled] = g.b.node('Mul', [x, g.constant('aff_scale', wave(channels, 8, 1), [channels, 1, 1])], { name: 'aff_mul' });
  return g.b.node('Add', [scaled!, g.constant('aff_bias', wave(channels, 9), [channels, 1, 1])], { name: 'aff_add' })[0]!;
}

/** Every small graph the unit tests use; the integration test runs each before and after its pass. */
export const PATTERNS = {
  convBn: () => {
    const g = imageGraph();
    return g.finish(batchNorm(g, conv(g, g.x), C));
  },
  convBiasConstantNodesBn: () => {
    const g = imageGraph();
    const weight = g.constantNode('w_node', wave(C * C * 9, 5), [C, C, 3, 3]);
    const [y] = g.b.node('Conv', [g.x, weight, g.constantNode('b_node', wave(C, 6), [C])], {
      name: 'conv',
      attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    });
    return g.finish(batchNorm(g, y!, C));
  },
  convTransposeGroupsBn: () => {
    const g = imageGraph();
    // Two groups: weight [C_in, C_out / 2, 2, 2], output channels 2·3 = 6.
    const [y] = g.b.node('ConvTranspose', [g.x, g.constant('wt', wave(C * 3 * 4, 5), [C, 3, 2, 2])], {
      name: 'deconv',
      attributes: { kernel_shape: [2, 2], strides: [2, 2], group: 2 },
    });
    return g.finish(batchNorm(g, y!, 6));
  },
  gemmBn: () => {
    const g = imageGraph([3, 5]);
    const [y] = g.b.node('Gemm', [g.x, g.constant('gw', wave(4 * 5, 5), [4, 5]), g.constant('gc', wave(4, 6), [4])], {
      name: 'gemm',
      attributes: { transB: 1, alpha: Attribute.float('alpha', 0.5), beta: Attribute.float('beta', 2) },
    });
    return g.finish(batchNorm(g, y!, 4));
  },
  matMulBn: () => {
    const g = imageGraph([3, 5]);
    const [y] = g.b.node('MatMul', [g.x, g.constant('mw', wave(5 * 4, 5), [5, 4])], { name: 'matmul' });
    return g.finish(batchNorm(g, y!, 4));
  },
  bnRuntimeScale: () => {
    const g = imageGraph();
    const scale = g.b.input('s', DataType.FLOAT, [C]);
    const built = g.finish(batchNorm(g, conv(g, g.x), C, scale));
    return { model: built.model, feeds: { ...built.feeds, s: { dims: [C], data: wave(C, 1, 1) } } };
  },
  convOutputReused: () => {
    const g = imageGraph();
    const y = conv(g, g.x);
    const [sum] = g.b.node('Add', [batchNorm(g, y, C), y]);
    return g.finish(sum!);
  },
  bnAlone: () => {
    const g = imageGraph();
    const [r] = g.b.node('Relu', [g.x]);
    return g.finish(batchNorm(g, r!, C));
  },
  hardSwishDiv: () => {
    const g = imageGraph();
    return g.finish(hardSwishDiv(g, conv(g, g.x)), 11);
  },
  hardSwishReluCast: () => {
    const g = imageGraph();
    return g.finish(hardSwishReluCast(g, g.x));
  },
  hardSwishGrouped: () => {
    // x · (Clip(x+3, 0, 6) · (1/6)), the product grouped the other way.
    const g = imageGraph();
    const [added] = g.b.node('Add', [g.x, g.scalar('three', 3)]);
    const [clipped] = g.b.node('Clip', [added, g.scalar('zero', 0), g.scalar('six', 6)]);
    const [sixth] = g.b.node('Mul', [clipped, g.scalar('sixth', 1 / 6)]);
    return g.finish(g.b.node('Mul', [g.x, sixth])[0]!);
  },
  hardSwishFromHardSigmoid: () => {
    const g = imageGraph();
    const [h] = g.b.node('HardSigmoid', [g.x], { attributes: { alpha: Attribute.float('alpha', 1 / 6), beta: Attribute.float('beta', 0.5) } });
    return g.finish(g.b.node('Mul', [h, g.x])[0]!);
  },
  hardSwishShift29: () => {
    const g = imageGraph();
    return g.finish(hardSwishDiv(g, g.x, 2.9));
  },
  hardSwishInnerReused: () => {
    const g = imageGraph();
    const [added] = g.b.node('Add', [g.x, g.scalar('three', 3)]);
    const [clipped] = g.b.node('Clip', [added, g.scalar('zero', 0), g.scalar('six', 6)]);
    const [product] = g.b.node('Mul', [g.x, clipped]);
    const [hs] = g.b.node('Div', [product, g.scalar('six_d', 6)]);
    const [sum] = g.b.node('Add', [hs, clipped]);
    return g.finish(sum!);
  },
  hardSigmoidRelu6: () => {
    const g = imageGraph();
    const [added] = g.b.node('Add', [g.x, g.scalar('three', 3)]);
    const [clipped] = g.b.node('Clip', [added, g.scalar('zero', 0), g.scalar('six', 6)]);
    return g.finish(g.b.node('Div', [clipped, g.scalar('six_d', 6)])[0]!);
  },
  hardSigmoidClipAffine: () => {
    const g = imageGraph();
    const [scaled] = g.b.node('Mul', [g.x, g.scalar('slope', 0.2)]);
    const [shifted] = g.b.node('Add', [scaled, g.scalar('offset', 0.5)]);
    return g.finish(g.b.node('Clip', [shifted, g.scalar('zero', 0), g.scalar('one', 1)])[0]!);
  },
  geluErf: () => {
    const g = imageGraph();
    const [scaled] = g.b.node('Div', [g.x, g.scalar('sqrt2', Math.SQRT2)]);
    const [erf] = g.b.node('Erf', [scaled]);
    const [onePlus] = g.b.node('Add', [erf, g.scalar('one', 1)]);
    const [product] = g.b.node('Mul', [g.x, onePlus]);
    return g.finish(g.b.node('Mul', [product, g.scalar('half', 0.5)])[0]!, 13);
  },
  geluTanh: () => {
    const g = imageGraph();
    const [cube] = g.b.node('Pow', [g.x, g.scalar('three', 3)]);
    const [cubic] = g.b.node('Mul', [cube, g.scalar('k', 0.044715)]);
    const [sum] = g.b.node('Add', [g.x, cubic]);
    const [scaled] = g.b.node('Mul', [sum, g.scalar('c', Math.sqrt(2 / Math.PI))]);
    const [tanh] = g.b.node('Tanh', [scaled]);
    const [onePlus] = g.b.node('Add', [tanh, g.scalar('one', 1)]);
    const [half] = g.b.node('Mul', [g.x, g.scalar('half', 0.5)]);
    return g.finish(g.b.node('Mul', [half, onePlus])[0]!, 20);
  },
  layerNorm: () => {
    const g = imageGraph([2, 3, 8]);
    const mean = g.b.node('ReduceMean', [g.x], { attributes: { axes: [-1] } })[0]!;
    const [d] = g.b.node('Sub', [g.x, mean]);
    const [sq] = g.b.node('Pow', [d, g.scalar('two', 2)]);
    const variance = g.b.node('ReduceMean', [sq], { attributes: { axes: [-1] } })[0]!;
    const [withEps] = g.b.node('Add', [variance, g.scalar('eps', 1e-5)]);
    const [std] = g.b.node('Sqrt', [withEps]);
    const [normed] = g.b.node('Div', [d, std]);
    const [scaled] = g.b.node('Mul', [normed, g.constant('ln_w', wave(8, 1, 1), [8])]);
    return g.finish(g.b.node('Add', [scaled, g.constant('ln_b', wave(8, 2), [8])])[0]!);
  },
  layerNormAxesInputNoBias: () => {
    const g = imageGraph([2, 3, 8]);
    const axes = () => g.b.initializer('axes', new BigInt64Array([2n]), [1]);
    const mean = g.b.node('ReduceMean', [g.x, axes()])[0]!;
    const [d] = g.b.node('Sub', [g.x, mean]);
    const [sq] = g.b.node('Mul', [d, d]);
    const variance = g.b.node('ReduceMean', [sq, axes()])[0]!;
    const [withEps] = g.b.node('Add', [g.scalar('eps', 1e-6), variance]);
    const [std] = g.b.node('Sqrt', [withEps]);
    return g.finish(g.b.node('Div', [d, std])[0]!, 18);
  },
  convThenAffine: () => {
    const g = imageGraph();
    return g.finish(affine(g, conv(g, g.x)));
  },
  affineThenPointwiseConv: () => {
    const g = imageGraph();
    return g.finish(conv(g, affine(g, g.x), { kernel: 1, pad: 0, out: 3, bias: true }));
  },
  affineThenPaddedConv: () => {
    const g = imageGraph();
    const [r] = g.b.node('Relu', [g.x]);
    return g.finish(conv(g, affine(g, r!), { group: C, inChannels: C, out: C }));
  },
  mulThenPaddedConv: () => {
    const g = imageGraph();
    const [scaled] = g.b.node('Mul', [g.x, g.constant('s', wave(C, 8, 1), [1, C, 1, 1])], { name: 'mul' });
    return g.finish(conv(g, scaled!, { group: 2 }));
  },
  addBeforeGemm: () => {
    const g = imageGraph([3, 5]);
    const [shifted] = g.b.node('Add', [g.x, g.constant('shift', wave(5, 9), [5])], { name: 'add' });
    const [y] = g.b.node('Gemm', [shifted, g.constant('gw', wave(4 * 5, 5), [4, 5]), g.constant('gc', wave(4, 6), [4])], {
      name: 'gemm',
      attributes: { transB: 1 },
    });
    return g.finish(y!);
  },
  mulBeforeConvTranspose: () => {
    const g = imageGraph();
    const [scaled] = g.b.node('Mul', [g.x, g.constant('s', wave(C, 8, 1), [C, 1, 1])], { name: 'mul' });
    const [y] = g.b.node('ConvTranspose', [scaled, g.constant('wt', wave(C * 3 * 4, 5), [C, 3, 2, 2])], {
      name: 'deconv',
      attributes: { kernel_shape: [2, 2], strides: [2, 2], group: 2 },
    });
    return g.finish(y!);
  },
  loneAdd: () => {
    const g = imageGraph();
    const [r] = g.b.node('Relu', [g.x]);
    return g.finish(g.b.node('Add', [r, g.constant('shift', wave(C, 9), [C, 1, 1])], { name: 'add' })[0]!);
  },
  linearBias3d: () => {
    const g = imageGraph([2, 3, 5]);
    const [y] = g.b.node('MatMul', [g.x, g.constant('mw', wave(5 * 4, 5), [5, 4])], { name: 'matmul' });
    return g.finish(g.b.node('Add', [g.constant('mb', wave(4, 6), [4]), y])[0]!);
  },
  notPerChannel: () => {
    const g = imageGraph();
    const [r] = g.b.node('Relu', [g.x]);
    const [scaled] = g.b.node('Mul', [r, g.scalar('k', 0.5)], { name: 'scalar_mul' });
    return g.finish(g.b.node('Add', [scaled, g.constant('row', wave(W, 9), [1, W])], { name: 'row_add' })[0]!);
  },
} satisfies Record<string, () => PatternGraph>;

export type PatternName = keyof typeof PATTERNS;
