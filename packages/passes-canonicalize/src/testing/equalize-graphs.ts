import { Attribute, type Value } from '@quantkit/core';
import { batchNorm, conv, imageGraph, wave, type PatternGraph } from './pattern-graphs.js';

type G = ReturnType<typeof imageGraph>;

/**
 * A Conv whose output channels have very different ranges (channel c's weights scaled by 4^c, as BN folding
 * leaves them), so that equalization has something to move.
 */
function unevenConv(g: G, input: Value, name: string, options: { out?: number; inChannels?: number; group?: number } = {}): Value {
  const { out = 4, inChannels = 4, group = 1 } = options;
  const per = (inChannels / group) * 9;
  const data = wave(out * per, name.length).map((v, i) => v * 4 ** (Math.floor(i / per) % 4));
  const [y] = g.b.node('Conv', [input, g.constant(`${name}_w`, data, [out, inChannels / group, 3, 3]), g.constant(`${name}_b`, wave(out, 9), [out])], {
    name,
    attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group },
  });
  return y!;
}

const relu = (g: G, x: Value, name = 'relu') => g.b.node('Relu', [x], { name })[0]!;

/** Small graphs for equalize-cross-layer, each with an input to run it on. */
export const EQUALIZE_GRAPHS = {
  /** Case 1: Conv → Conv. */
  convConv(): PatternGraph {
    const g = imageGraph();
    return g.finish(conv(g, unevenConv(g, g.x, 'first'), { name: 'second' }));
  },
  /** Case 1: MatMul on a 3-D input → MatMul, the Linear form (MatMul + Add of the bias) with a Relu between. */
  matmulChain(): PatternGraph {
    const g = imageGraph([1, 3, 4]);
    const w1 = wave(4 * 6, 3).map((v, i) => v * 3 ** (i % 6));
    const [h] = g.b.node('MatMul', [g.x, g.constant('w1', w1, [4, 6])], { name: 'mm1' });
    const [hb] = g.b.node('Add', [g.constant('b1', wave(6, 4), [6]), h!], { name: 'bias1' });
    const [y] = g.b.node('MatMul', [relu(g, hb!), g.constant('w2', wave(6 * 5, 5), [6, 5])], { name: 'mm2' });
    return g.finish(y!);
  },
  /** Case 2: Conv → Relu → BN → Add of a per-channel constant → Mul by a scalar → Clip(0, none) → Conv. */
  convThroughOps(): PatternGraph {
    const g = imageGraph();
    const bn = batchNorm(g, relu(g, unevenConv(g, g.x, 'first')), 4);
    const [added] = g.b.node('Add', [bn, g.constant('shift', wave(4, 11), [1, 4, 1, 1])], { name: 'shift_add' });
    const [scaled] = g.b.node('Mul', [added!, g.scalar('half', 0.5)], { name: 'half_mul' });
    const [clipped] = g.b.node('Clip', [scaled!, g.scalar('zero', 0)], { name: 'clip_low' });
    return g.finish(conv(g, clipped!, { name: 'second' }));
  },
  /** Case 2 and 5: Clip(0, 6) between the convs (a ReLU6) is not a positive-homogeneous op. */
  convRelu6Conv(): PatternGraph {
    const g = imageGraph();
    const [clipped] = g.b.node('Clip', [unevenConv(g, g.x, 'first'), g.scalar('zero', 0), g.scalar('six', 6)], { name: 'relu6' });
    return g.finish(conv(g, clipped!, { name: 'second' }));
  },
  /** Case 3: conv → Relu → depthwise conv → Relu → conv. */
  depthwiseChain(): PatternGraph {
    const g = imageGraph();
    const expanded = relu(g, unevenConv(g, g.x, 'expand', { out: 8 }), 'relu_a');
    const depthwise = relu(g, unevenConv(g, expanded, 'dw', { out: 8, inChannels: 8, group: 8 }), 'relu_b');
    return g.finish(conv(g, depthwise, { name: 'project', inChannels: 8 }));
  },
  /** Case 4: the first conv's output channel 2 is all zeros. */
  zeroChannel(): PatternGraph {
    const g = imageGraph();
    const data = wave(4 * 4 * 9, 2).map((v, i) => (Math.floor(i / 36) === 2 ? 0 : v * (1 + Math.floor(i / 36))));
    const [h] = g.b.node('Conv', [g.x, g.constant('first_w', data, [4, 4, 3, 3])], {
      name: 'first',
      attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    });
    return g.finish(conv(g, relu(g, h!), { name: 'second' }));
  },
  /** Case 5: HardSwish between the convs. */
  convHardSwishConv(): PatternGraph {
    const g = imageGraph();
    const [h] = g.b.node('HardSwish', [unevenConv(g, g.x, 'first')], { name: 'hswish' });
    return g.finish(conv(g, h!, { name: 'second' }));
  },
  /** Case 5: the first conv's output is also read by an Add. */
  twoUses(): PatternGraph {
    const g = imageGraph();
    const h = unevenConv(g, g.x, 'first');
    const [sum] = g.b.node('Add', [conv(g, h, { name: 'second' }), h], { name: 'residual' });
    return g.finish(sum!);
  },
  /** Case 5: Conv → LeakyRelu → Flatten → Gemm: the channel axis differs. */
  convFlattenGemm(): PatternGraph {
    const g = imageGraph([1, 4, 1, 1]);
    const [leaky] = g.b.node('LeakyRelu', [unevenConv(g, g.x, 'first')], { name: 'leaky', attributes: { alpha: Attribute.float('alpha', 0.1) } });
    const [flat] = g.b.node('Flatten', [leaky!], { name: 'flatten' });
    const [y] = g.b.node('Gemm', [flat!, g.constant('gw', wave(4 * 3, 8), [4, 3])], { name: 'gemm' });
    return g.finish(y!);
  },
} satisfies Record<string, () => PatternGraph>;
