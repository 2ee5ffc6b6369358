import { fileURLToPath } from 'node:url';
import { createQuantkit, loadModel, prepare, type PrepareOptions, type QuantPlan } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { outputPrecisionPlugin } from './index.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../fixtures/models/${name}/model.onnx`, import.meta.url));
const pipeline = createQuantkit({ plugins: [outputPrecisionPlugin] }).pipeline('prepare');

async function prepared(name: string, options: Omit<PrepareOptions, 'pipeline'> = {}) {
  const { model, plan } = await prepare(await loadModel(fixture(name)), { ...options, pipeline });
  const value = (n: string) => model.graph.valuesByName().get(n)!;
  return { model, plan, value };
}

const names = (values: Iterable<{ name: string }>) => [...values].map((v) => v.name).sort();
const usesOf = (plan: QuantPlan, value: { name: string }) =>
  [...plan.activations.values()].find((a) => a.value.name === value.name)?.uses?.map((u) => [u.node.name, u.index]);

describe('output-precision passes on the fixture models', () => {
  it('registers both passes in order through the plugin', () => {
    expect(pipeline.describe()).toEqual(['high-precision-output', 'reused-output-rescale']);
    expect(outputPrecisionPlugin.name).toBe('@quantkit/passes-output-precision');
    expect(outputPrecisionPlugin.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(['int8', 'int16'])('seed_small_single (%s): linear3 output z is high precision with no ActivationQuant', async (template) => {
    const { plan, value } = await prepared('seed_small_single', { template });
    expect(names(plan.highPrecision)).toEqual(['z']);
    expect(plan.activations.has(value('z'))).toBe(false);
    expect(plan.activations.get(value('/linear2/Add_output_0'))?.dtype).toBe(template === 'int8' ? 'qint8' : 'qint16');
  });

  it('seed_small_reuse: y is high precision and its ActivationQuant covers exactly linear3', async () => {
    const { plan, value } = await prepared('seed_small_reuse', { template: 'int16' });
    expect(names(plan.highPrecision)).toEqual(['y', 'z']);
    expect(usesOf(plan, value('y'))).toEqual([['/linear3/MatMul', 0]]);
    expect(plan.activations.get(value('y'))?.dtype).toBe('qint16');
  });

  it("seed_small_reuse with reusedOutputs 'quantize': y is quantized whole, z stays high precision", async () => {
    const { plan, value } = await prepared('seed_small_reuse', { template: 'int16', reusedOutputs: 'quantize' });
    expect(names(plan.highPrecision)).toEqual(['z']);
    expect(plan.activations.get(value('y'))).toEqual({ value: value('y'), dtype: 'qint16' });
  });

  it('fpn_reuse: p1 and p2 are rescaled for their consumers, head is high precision', async () => {
    const { plan, value } = await prepared('fpn_reuse', { template: 'int8' });
    expect(names(plan.highPrecision)).toEqual(['head', 'p1', 'p2']);
    expect(plan.activations.has(value('head'))).toBe(false);
    expect(usesOf(plan, value('p1'))).toEqual([
      ['/c2/c2.0/Conv', 0],
      ['/lat/lat.0/Conv', 0],
    ]);
    expect(usesOf(plan, value('p2'))).toEqual([
      ['/c3/c3.0/Conv', 0],
      ['/Add', 1],
    ]);
  });

  it('an override keeping y float wins over the passes; linear3 still reads a quantized copy', async () => {
    const { plan, value } = await prepared('seed_small_reuse', { overrides: [{ node: '/linear2/*', dtype: 'float' }] });
    expect(names(plan.float)).toEqual(['y']);
    expect(plan.highPrecision.has(value('y'))).toBe(false);
    expect(usesOf(plan, value('y'))).toEqual([['/linear3/MatMul', 0]]);
  });
});
