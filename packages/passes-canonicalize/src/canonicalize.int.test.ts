import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cloneModel, createQuantkit, loadModel, parseNpy, type Model } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { canonicalizePlugin } from './index.js';
import { PATTERNS, type PatternName } from './testing/pattern-graphs.js';
import { maxRelativeError, opHistogram, runFloat, type Feeds } from './testing/run-float.js';

const pipeline = createQuantkit({ plugins: [canonicalizePlugin] }).pipeline('canonicalize');
const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

async function canonical(model: Model): Promise<Model> {
  const copy = cloneModel(model);
  await pipeline.run(copy, { options: {}, diagnose: () => {} });
  return copy;
}

function calibration(folder: string, input: string, count: number): Feeds[] {
  return Array.from({ length: count }, (_, i) => {
    const npy = parseNpy(readFileSync(`${fixtures}calib/${folder}/input_00${i}.npy`));
    return { [input]: { dims: npy.shape, data: npy.data as Float32Array } };
  });
}

/** Whether a BatchNormalization still reads a GEMM output that nothing else reads. */
const bnAfterGemm = (model: Model) =>
  model.graph.nodes().some((node) => {
    const producer = node.opType === 'BatchNormalization' ? node.input(0)?.producer() : undefined;
    return producer !== undefined && ['Conv', 'ConvTranspose', 'Gemm'].includes(producer.opType) && node.input(0)!.useCount === 1;
  });

describe('the canonicalize pipeline of @quantkit/passes-canonicalize', () => {
  it('registers its passes in the contract order', () => {
    expect(pipeline.describe()).toEqual(['raise-opset', 'constant-to-initializer', 'eliminate-identity', 'fold-constants', 'fold-batchnorm', 'fuse-activation-patterns', 'fold-affine']);
  });

  it.each(Object.keys(PATTERNS) as PatternName[])('pattern graph %s computes the same in onnxruntime', async (name) => {
    const { model, feeds } = PATTERNS[name]();
    const after = await canonical(model);
    expect(maxRelativeError(await runFloat(model, feeds), await runFloat(after, feeds))).toBeLessThan(1e-5);
  });

  it('ppocr_cls (opset 9, weights in Constant nodes): BN folded, HardSwish fused, outputs within 1e-4', async () => {
    const original = await loadModel(`${fixtures}models/ppocr_cls/model.onnx`);
    const after = await canonical(original);
    for (const feeds of calibration('ppocr_cls', 'x', 2)) {
      expect(maxRelativeError(await runFloat(original, feeds), await runFloat(after, feeds))).toBeLessThan(1e-4);
    }
    const histogram = opHistogram(after);
    expect(after.opset).toBe(17);
    expect(histogram.BatchNormalization).toBeUndefined();
    expect(histogram.HardSwish).toBe(18);
    expect(histogram.Div).toBeUndefined();
    expect(histogram.Clip).toBeUndefined();
    expect(histogram.Conv).toBe(opHistogram(original).Conv);
  });

  it('lcnet_dbnet (opset 11, Clip bounds through Cast): BN folded, HardSwish fused, affine folded or one BN', async () => {
    const original = await loadModel(`${fixtures}models/lcnet_dbnet/model.onnx`);
    const after = await canonical(original);
    for (const feeds of calibration('lcnet_dbnet', 'x', 2)) {
      expect(maxRelativeError(await runFloat(original, feeds), await runFloat(after, feeds))).toBeLessThan(1e-4);
    }
    const histogram = opHistogram(after);
    expect(bnAfterGemm(after)).toBe(false);
    expect(histogram.HardSwish).toBe(15);
    expect([histogram.Div, histogram.Clip, histogram.Cast, histogram.Identity]).toEqual([undefined, undefined, undefined, undefined]);
    // Every affine Mul / Add pair is gone: folded into a Conv or one scale-shift BN.
    expect(histogram.Mul).toBe(opHistogram(original).HardSigmoid);
    expect(histogram.BatchNormalization).toBeLessThan(opHistogram(original).BatchNormalization!);
  });

  it.each([
    ['fpn_reuse', 'fpn_reuse'],
    ['seed_small_single', 'seed'],
    ['seed_small_reuse', 'seed'],
  ])('%s (clean PyTorch export) keeps its ops and outputs', async (name, calib) => {
    const original = await loadModel(`${fixtures}models/${name}/model.onnx`);
    const after = await canonical(original);
    // Only Constant nodes go (they become initializers); every computing op stays.
    const computing = (m: typeof original) => m.graph.nodes().map((n) => n.opType).filter((op) => op !== 'Constant');
    expect(after.graph.nodes().map((n) => n.opType)).toEqual(computing(original));
    const [feeds] = calibration(calib, 'input', 1);
    expect(maxRelativeError(await runFloat(original, feeds!), await runFloat(after, feeds!))).toBe(0);
  });
});
