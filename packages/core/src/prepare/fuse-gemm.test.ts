import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { findGemmGroups } from './fuse-gemm.js';

const zeros = (...dims: number[]) => Tensor.fromArray(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);

function linear(b: GraphBuilder, x: Value, k: number, n: number, name: string, biasFirst = true) {
  const w = b.initializer(`${name}.weight`, zeros(k, n));
  const bias = b.initializer(`${name}.bias`, zeros(n));
  const [mm] = b.node('MatMul', [x, w], { name: `/${name}/MatMul` });
  const [out] = b.node('Add', biasFirst ? [bias, mm!] : [mm!, bias], { name: `/${name}/Add` });
  return { w, bias, mm: mm!, out: out! };
}

describe('findGemmGroups', () => {
  it('fuses MatMul with Add(bias, x), the bias first as PyTorch exports it; weight axis 1', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 100, 256]);
    const l = linear(b, x, 256, 60, 'linear2');
    b.output(l.out);
    const { groups, unfused } = findGemmGroups(b.graph);
    expect(unfused).toEqual([]);
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.kind).toBe('MatMul');
    expect(g.input).toBe(x);
    expect(g.weight).toBe(l.w);
    expect(g.input2).toBeUndefined();
    expect(g.bias).toBe(l.bias);
    expect(g.biasAdd?.name).toBe('/linear2/Add');
    expect(g.weightAxis).toBe(1);
    expect(g.output).toBe(l.out);
    expect(g.nodes.map((n) => n.name)).toEqual(['/linear2/MatMul', '/linear2/Add']);
  });

  it('fuses Add(x, bias) too', () => {
    const b = new GraphBuilder();
    const l = linear(b, b.input('x', DataType.FLOAT, [4, 8]), 8, 3, 'fc', false);
    b.output(l.out);
    expect(findGemmGroups(b.graph).groups[0]?.bias).toBe(l.bias);
  });

  it('does not fuse the Add when the MatMul output has two uses', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [4, 8]);
    const l = linear(b, x, 8, 8, 'fc');
    const [other] = b.node('Relu', [l.mm], { name: 'other' });
    b.output(l.out);
    b.output(other!);
    const g = findGemmGroups(b.graph).groups[0]!;
    expect(g.bias).toBeUndefined();
    expect(g.biasAdd).toBeUndefined();
    expect(g.output).toBe(l.mm);
    expect(g.nodes).toHaveLength(1);
  });

  it('does not fuse past a graph output', () => {
    const b = new GraphBuilder();
    const l = linear(b, b.input('x', DataType.FLOAT, [4, 8]), 8, 8, 'fc');
    b.output(l.mm);
    b.output(l.out);
    expect(findGemmGroups(b.graph).groups[0]!.output).toBe(l.mm);
  });

  it('does not take an Add whose constant broadcasts along other dims than the output channel', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [4, 8]);
    const w = b.initializer('w', zeros(8, 3));
    const [mm] = b.node('MatMul', [x, w]);
    const [out] = b.node('Add', [mm!, b.initializer('full', zeros(4, 3))]);
    b.output(out!);
    expect(findGemmGroups(b.graph).groups[0]!.output).toBe(mm);
  });

  it('does not take an Add whose constant widens a single output channel', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [4, 8]);
    const [mm] = b.node('MatMul', [x, b.initializer('w', zeros(8, 1))]);
    const [out] = b.node('Add', [mm!, b.initializer('wide', zeros(3))]);
    b.output(out!);
    expect(findGemmGroups(b.graph).groups[0]!.biasAdd).toBeUndefined();

    const c = new GraphBuilder();
    const image = c.input('x', DataType.FLOAT, [1, 3, 8, 8]);
    const [conv] = c.node('Conv', [image, c.initializer('w', zeros(1, 3, 1, 1))]);
    const [sum] = c.node('Add', [conv!, c.initializer('wide', zeros(1, 4, 1, 1))]);
    c.output(sum!);
    expect(findGemmGroups(c.graph).groups[0]!.biasAdd).toBeUndefined();
  });

  it('does not take a rank-2 Add after a MatMul of a 1-D input, whose output is 1-D', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [8]);
    const [mm] = b.node('MatMul', [x, b.initializer('w', zeros(8, 3))]);
    const [out] = b.node('Add', [mm!, b.initializer('b', zeros(1, 3))]);
    b.output(out!);
    expect(findGemmGroups(b.graph).groups[0]!.biasAdd).toBeUndefined();
  });

  it('takes a following Relu, also after the bias Add (MatMul + Add + Relu)', () => {
    const b = new GraphBuilder();
    const l = linear(b, b.input('x', DataType.FLOAT, [1, 64, 256]), 256, 1024, 'linear1');
    const [r] = b.node('Relu', [l.out], { name: 'relu' });
    b.output(r!);
    const g = findGemmGroups(b.graph).groups[0]!;
    expect(g.activation?.name).toBe('relu');
    expect(g.output).toBe(r);
    expect(g.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Relu']);
  });

  it('fuses Conv with its own bias and a Relu; weight axis 0', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
    const w = b.initializer('w', zeros(16, 3, 3, 3));
    const bias = b.initializer('b', zeros(16));
    const [c] = b.node('Conv', [x, w, bias], { name: 'conv' });
    const [r] = b.node('Relu', [c!], { name: 'relu' });
    b.output(r!);
    const g = findGemmGroups(b.graph).groups[0]!;
    expect(g).toMatchObject({ kind: 'Conv', weight: w, bias, weightAxis: 0, output: r, biasAdd: undefined });
    expect(g.activation?.name).toBe('relu');
  });

  it('fuses a Conv without bias and an Add of a [1, C, 1, 1] constant, not one of a [C] constant', () => {
    const build = (dims: number[]) => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
      const [c] = b.node('Conv', [x, b.initializer('w', zeros(4, 3, 1, 1))]);
      const [out] = b.node('Add', [c!, b.initializer('b', zeros(...dims))]);
      b.output(out!);
      return findGemmGroups(b.graph).groups[0]!;
    };
    expect(build([1, 4, 1, 1]).biasAdd).toBeDefined();
    expect(build([4, 1, 1]).biasAdd).toBeDefined();
    expect(build([4]).biasAdd).toBeUndefined();
  });

  it('fuses a Clip whose bounds are Constant nodes, not one with a computed bound', () => {
    const build = (computedMax: boolean) => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
      const [c] = b.node('Conv', [x, b.initializer('w', zeros(4, 3, 1, 1))]);
      const [lo] = b.node('Constant', [], { attributes: { value: Tensor.fromArray(new Float32Array([0]), []) } });
      const [hi] = computedMax
        ? b.node('ReduceMax', [x])
        : b.node('Constant', [], { attributes: { value: Tensor.fromArray(new Float32Array([6]), []) } });
      const [out] = b.node('Clip', [c!, lo!, hi!], { name: 'clip' });
      b.output(out!);
      return findGemmGroups(b.graph).groups[0]!;
    };
    expect(build(false).activation?.name).toBe('clip');
    expect(build(true).activation).toBeUndefined();
  });

  it('fuses an epilogue chain: BatchNormalization, HardSwish, SiLU (Sigmoid + Mul), LeakyRelu, quantized at its end', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
    const [c] = b.node('Conv', [x, b.initializer('w', zeros(4, 3, 1, 1))], { name: 'conv' });
    const bnParams = ['scale', 'B', 'mean', 'var'].map((n) => b.initializer(n, zeros(4)));
    const [bn] = b.node('BatchNormalization', [c!, ...bnParams], { name: 'bn' });
    const [hs] = b.node('HardSwish', [bn!], { name: 'hs' });
    const [gate] = b.node('Sigmoid', [hs!], { name: 'silu_sigmoid' });
    const [silu] = b.node('Mul', [gate!, hs!], { name: 'silu_mul' });
    const [leaky] = b.node('LeakyRelu', [silu!], { name: 'leaky', attributes: { alpha: 0.1 } });
    b.output(leaky!);
    const g = findGemmGroups(b.graph).groups[0]!;
    expect(g.epilogue.map((n) => n.name)).toEqual(['bn', 'hs', 'silu_sigmoid', 'silu_mul', 'leaky']);
    expect(g.nodes.map((n) => n.name)).toEqual(['conv', 'bn', 'hs', 'silu_sigmoid', 'silu_mul', 'leaky']);
    expect(g.output).toBe(leaky);
    expect(g.activation?.name).toBe('leaky');
  });

  it('stops the epilogue at a value read twice or a graph output, at a BN with a computed scale, and at a Mul that is no SiLU', () => {
    const chain = (variant: 'reused' | 'output' | 'bn-computed' | 'mul-other') => {
      const b = new GraphBuilder();
      const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
      const [c] = b.node('Conv', [x, b.initializer('w', zeros(4, 3, 1, 1))], { name: 'conv' });
      const [t] = b.node('Tanh', [c!], { name: 'tanh' });
      if (variant === 'reused') {
        b.output(b.node('Gelu', [t!], { name: 'gelu' })[0]!);
        b.output(b.node('Neg', [t!], { name: 'neg' })[0]!);
      } else if (variant === 'output') {
        b.output(t!);
        b.output(b.node('Gelu', [t!], { name: 'gelu' })[0]!);
      } else if (variant === 'bn-computed') {
        const [scale] = b.node('ReduceMax', [x], { name: 'computed' });
        const params = ['B', 'mean', 'var'].map((n) => b.initializer(n, zeros(4)));
        b.output(b.node('BatchNormalization', [t!, scale!, ...params], { name: 'bn' })[0]!);
      } else {
        const [gate] = b.node('Sigmoid', [t!], { name: 'sig' });
        b.output(b.node('Mul', [gate!, x], { name: 'mul' })[0]!);
      }
      return findGemmGroups(b.graph).groups[0]!.epilogue.map((n) => n.name);
    };
    expect(chain('reused')).toEqual(['tanh']);
    expect(chain('output')).toEqual(['tanh']);
    expect(chain('bn-computed')).toEqual(['tanh']);
    expect(chain('mul-other')).toEqual(['tanh', 'sig']);
  });

  it('gives ConvTranspose weight axis 1 and Gemm 0 with transB=1, 1 with transB=0', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 4, 8, 8]);
    const [t] = b.node('ConvTranspose', [x, b.initializer('wt', zeros(4, 2, 2, 2))], { name: 'deconv' });
    const v = b.input('v', DataType.FLOAT, [2, 8]);
    const [g1] = b.node('Gemm', [v, b.initializer('w1', zeros(3, 8)), b.initializer('c1', zeros(3))], {
      name: 'gemm1',
      attributes: { transB: 1 },
    });
    const [g0] = b.node('Gemm', [v, b.initializer('w0', zeros(8, 3))], { name: 'gemm0' });
    for (const out of [t!, g1!, g0!]) b.output(out);
    const axes = Object.fromEntries(findGemmGroups(b.graph).groups.map((g) => [g.node.name, g.weightAxis]));
    expect(axes).toEqual({ deconv: 1, gemm1: 0, gemm0: 1 });
  });

  it('reads weights and Gemm biases fed through Identity (de-duplicated initializers)', () => {
    const b = new GraphBuilder();
    const v = b.input('v', DataType.FLOAT, [2, 8]);
    const [w] = b.node('Identity', [b.initializer('shared.w', zeros(3, 8))], { name: 'Identity_0' });
    const [c] = b.node('Identity', [b.initializer('shared.b', zeros(3))], { name: 'Identity_1' });
    const [out] = b.node('Gemm', [v, w!, c!], { attributes: { transB: 1 } });
    b.output(out!);
    const g = findGemmGroups(b.graph).groups[0]!;
    expect(g.weight).toBe(w);
    expect(g.bias).toBe(c);
  });

  it('groups a MatMul of two activations with input2 and no weight', () => {
    const b = new GraphBuilder();
    const q = b.input('q', DataType.FLOAT, [1, 4, 64, 64]);
    const k = b.input('k', DataType.FLOAT, [1, 4, 64, 64]);
    const [s] = b.node('MatMul', [q, k]);
    b.output(s!);
    const g = findGemmGroups(b.graph).groups[0]!;
    expect(g).toMatchObject({ input: q, input2: k, weight: undefined, weightAxis: -1 });
  });

  it('leaves a Conv with a computed weight unfused, with the reason', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
    const w = b.input('w', DataType.FLOAT, [4, 3, 1, 1]);
    const [c] = b.node('Conv', [x, w], { name: 'dynconv' });
    b.output(c!);
    const { groups, unfused } = findGemmGroups(b.graph);
    expect(groups).toEqual([]);
    expect(unfused.map((u) => [u.node.name, u.reason])).toEqual([['dynconv', 'its weight is not a constant']]);
  });
});
