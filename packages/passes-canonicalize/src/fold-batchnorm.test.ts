import { constantTensor } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { foldBatchnorm } from './fold-batchnorm.js';
import { PATTERNS, wave } from './testing/pattern-graphs.js';
import { opTypes, runPass } from './testing/run-pass.js';

/** BN's per-channel factor k and shift with the parameters pattern-graphs writes. */
function bnFactors(channels: number) {
  const [s, b, m, v] = [wave(channels, 1, 1.2), wave(channels, 2), wave(channels, 3), wave(channels, 4, 1.5)];
  const k = Array.from(s, (si, c) => si / Math.sqrt(v[c]! + 1e-5));
  return { k, shift: k.map((kc, c) => b[c]! - m[c]! * kc) };
}

describe('fold-batchnorm', () => {
  it('1. Conv → BN: the weight output channels are scaled and a bias is added', async () => {
    const { model } = PATTERNS.convBn();
    const output = model.graph.outputs[0]!;
    expect((await runPass(foldBatchnorm, model)).modified).toBe(true);
    expect(opTypes(model)).toEqual(['Conv']);
    const conv = model.graph.nodes()[0]!;
    expect(conv.output).toBe(output);
    const { k, shift } = bnFactors(4);
    const w = constantTensor(conv.input(1))!.toFloat32();
    const original = wave(4 * 4 * 9, 5);
    for (const i of [0, 40, 100, 143]) expect(w[i]).toBeCloseTo(original[i]! * k[Math.floor(i / 36)]!, 6);
    expect(Array.from(constantTensor(conv.input(2))!.toFloat32())).toEqual(shift.map((v) => Math.fround(v)));
    expect(model.graph.initializers.has('bn_scale')).toBe(false);
    expect(model.graph.initializers.has('conv_w')).toBe(false);
  });

  it('1. Conv with weight and bias in Constant nodes → BN: folded, the Constant nodes removed', async () => {
    const { model } = PATTERNS.convBiasConstantNodesBn();
    await runPass(foldBatchnorm, model);
    expect(opTypes(model)).toEqual(['Conv']);
    const { k, shift } = bnFactors(4);
    const bias = constantTensor(model.graph.nodes()[0]!.input(2))!.toFloat32();
    const b0 = wave(4, 6);
    bias.forEach((v, c) => expect(v).toBeCloseTo(b0[c]! * k[c]! + shift[c]!, 5));
  });

  it('2. ConvTranspose with two groups → BN: axis 1 of the weight is scaled, group by group', async () => {
    const { model } = PATTERNS.convTransposeGroupsBn();
    await runPass(foldBatchnorm, model);
    expect(opTypes(model)).toEqual(['ConvTranspose']);
    const w = constantTensor(model.graph.nodes()[0]!.input(1))!.toFloat32();
    const original = wave(4 * 3 * 4, 5);
    const { k } = bnFactors(6);
    // weight [4, 3, 2, 2]: input channel 2 is in group 1, so its column j feeds output channel 3 + j.
    for (const [ci, j] of [[0, 0], [1, 2], [2, 0], [3, 1]] as const) {
      const i = (ci * 3 + j) * 4;
      expect(w[i]).toBeCloseTo(original[i]! * k[Math.floor(ci / 2) * 3 + j]!, 6);
    }
  });

  it('3. Gemm (transB, alpha, beta) → BN: rows of B scaled, alpha and beta baked in', async () => {
    const { model } = PATTERNS.gemmBn();
    await runPass(foldBatchnorm, model);
    const gemm = model.graph.nodes()[0]!;
    expect(opTypes(model)).toEqual(['Gemm']);
    expect(gemm.attribute('alpha')).toBeUndefined();
    const { k, shift } = bnFactors(4);
    const c = constantTensor(gemm.input(2))!.toFloat32();
    c.forEach((v, n) => expect(v).toBeCloseTo(2 * wave(4, 6)[n]! * k[n]! + shift[n]!, 5));
    expect(constantTensor(gemm.input(1))!.toFloat32()[5]).toBeCloseTo(0.5 * wave(20, 5)[5]! * k[1]!, 6);
  });

  it('3. MatMul (2-D) → BN: columns scaled, the bias becomes an Add that keeps the output', async () => {
    const { model } = PATTERNS.matMulBn();
    const output = model.graph.outputs[0]!;
    await runPass(foldBatchnorm, model);
    expect(opTypes(model)).toEqual(['MatMul', 'Add']);
    expect(model.graph.nodes()[1]!.output).toBe(output);
  });

  it.each([
    ['a BN whose scale is a graph input', 'bnRuntimeScale', ['Conv', 'BatchNormalization']],
    ['a Conv output also read elsewhere', 'convOutputReused', ['Conv', 'BatchNormalization', 'Add']],
    ['a BN with no GEMM before it', 'bnAlone', ['Relu', 'BatchNormalization']],
  ] as const)('5. leaves alone %s', async (_, name, ops) => {
    const { model } = PATTERNS[name]();
    expect((await runPass(foldBatchnorm, model)).modified).toBe(false);
    expect(opTypes(model)).toEqual(ops);
  });
});
