import { constantTensor, type Model, type Node } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { equalizeCrossLayer } from './equalize-cross-layer.js';
import { GemmWeights } from './gemm-weights.js';
import { EQUALIZE_GRAPHS } from './testing/equalize-graphs.js';
import { wave } from './testing/pattern-graphs.js';
import { opTypes, runPass } from './testing/run-pass.js';

const node = (model: Model, name: string): Node => model.graph.nodes().find((n) => n.name === name)!;
const ranges = (model: Model, first: string, second: string) => ({
  out: Array.from(GemmWeights.of(node(model, first), { anyRank: true })!.outputRanges()),
  in: Array.from(GemmWeights.of(node(model, second), { anyRank: true })!.inputRanges()),
});
const spread = (values: number[]) => Math.max(...values) / Math.min(...values);

describe('equalize-cross-layer', () => {
  it('is opt-in: registered for the canonicalize phase but not in the default pipeline', () => {
    expect(equalizeCrossLayer.info.phase).toBe('canonicalize');
    expect(equalizeCrossLayer.info.optIn).toBe(true);
  });

  it('1. Conv → Conv: each channel of both weights ends at the same range √(r1·r2)', async () => {
    const { model } = EQUALIZE_GRAPHS.convConv();
    const before = ranges(model, 'first', 'second');
    expect((await runPass(equalizeCrossLayer, model)).modified).toBe(true);
    const after = ranges(model, 'first', 'second');
    after.out.forEach((r, c) => {
      expect(r).toBeCloseTo(after.in[c]!, 5);
      expect(r).toBeCloseTo(Math.sqrt(before.out[c]! * before.in[c]!), 5);
    });
    expect(spread(after.out)).toBeLessThan(spread(before.out));
    expect(opTypes(model)).toEqual(['Conv', 'Conv']);
    expect(model.graph.initializers.has('first_w')).toBe(false);
  });

  it('1. MatMul on a 3-D input → Add (bias) → Relu → MatMul: the Linear pair is equalized on the last axis', async () => {
    const { model } = EQUALIZE_GRAPHS.matmulChain();
    const before = ranges(model, 'mm1', 'mm2');
    expect((await runPass(equalizeCrossLayer, model)).modified).toBe(true);
    const after = ranges(model, 'mm1', 'mm2');
    after.out.forEach((r, c) => expect(r).toBeCloseTo(after.in[c]!, 5));
    // The bias is scaled with its channel: b'/b = r1'/r1.
    const bias = constantTensor(node(model, 'bias1').input(0))!.toFloat32();
    const original = wave(6, 4);
    for (let c = 0; c < 6; c++) expect(bias[c]! / original[c]!).toBeCloseTo(after.out[c]! / before.out[c]!, 4);
  });

  it('2. the constants of BN, Add and Mul between the GEMMs scale with the channel; Clip(0) and Relu pass', async () => {
    const { model } = EQUALIZE_GRAPHS.convThroughOps();
    const bnMean = Array.from(constantTensor(node(model, 'bn').input(3))!.toFloat32());
    const before = ranges(model, 'first', 'second');
    expect((await runPass(equalizeCrossLayer, model)).modified).toBe(true);
    const after = ranges(model, 'first', 'second');
    const k = after.out.map((r, c) => r / before.out[c]!);
    const mean = constantTensor(node(model, 'bn').input(3))!.toFloat32();
    mean.forEach((m, c) => expect(m).toBeCloseTo(bnMean[c]! * k[c]!, 5));
    expect(constantTensor(node(model, 'shift_add').input(1))!.dims).toEqual([4, 1, 1]);
    expect(opTypes(model)).toEqual(['Conv', 'Relu', 'BatchNormalization', 'Add', 'Mul', 'Clip', 'Conv']);
  });

  it('2. Clip(0, 6) between the GEMMs is left alone (its upper bound cannot scale per channel)', async () => {
    const { model } = EQUALIZE_GRAPHS.convRelu6Conv();
    expect((await runPass(equalizeCrossLayer, model)).modified).toBe(false);
  });

  it('3. conv → depthwise → conv: both pairs converge to equal ranges', async () => {
    const { model } = EQUALIZE_GRAPHS.depthwiseChain();
    const { diagnostics, modified } = await runPass(equalizeCrossLayer, model);
    expect(modified).toBe(true);
    expect(diagnostics[0]!.message).toMatch(/equalized 2 GEMM pairs in \d+ sweeps/);
    const a = ranges(model, 'expand', 'dw');
    const b = ranges(model, 'dw', 'project');
    a.out.forEach((r, c) => expect(r / a.in[c]!).toBeCloseTo(1, 3));
    b.out.forEach((r, c) => expect(r / b.in[c]!).toBeCloseTo(1, 3));
  });

  it('4. a channel whose range is 0 keeps s = 1', async () => {
    const { model } = EQUALIZE_GRAPHS.zeroChannel();
    const before = ranges(model, 'first', 'second');
    await runPass(equalizeCrossLayer, model);
    const after = ranges(model, 'first', 'second');
    expect(after.out[2]).toBe(0);
    expect(after.in[2]).toBeCloseTo(before.in[2]!, 6);
    expect(after.out[0]).toBeCloseTo(after.in[0]!, 5);
  });

  it('5. left alone: HardSwish between, a value with two uses, a Conv into a Gemm through Flatten', async () => {
    for (const make of [EQUALIZE_GRAPHS.convHardSwishConv, EQUALIZE_GRAPHS.twoUses, EQUALIZE_GRAPHS.convFlattenGemm]) {
      const { model } = make();
      const types = opTypes(model);
      expect((await runPass(equalizeCrossLayer, model)).modified).toBe(false);
      expect(opTypes(model)).toEqual(types);
    }
  });
});
