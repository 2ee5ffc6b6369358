import { describe, expect, it } from 'vitest';
import { createQuantkit, DataType, GraphBuilder, prepare, quantPlanOf, Tensor, type Model, type Value } from '@quantkit/core';
import { outputPrecisionPlugin } from '@quantkit/passes-output-precision';
import plugin, { int16IntoSoftmax } from './index.js';

function weight(rows: number, cols: number, seed: number): Tensor {
  return Tensor.fromArray(Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.7 + seed) / 4), [rows, cols]);
}

/** x → MatMul → [Reshape] → Softmax → MatMul → y, and the value that feeds the Softmax. */
function attentionLike(options: { reshape?: boolean; softmax?: boolean } = {}): { model: Model; softmaxInput: Value; logits: Value } {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [1, 8, 16]);
  const [logits] = b.node('MatMul', [x, b.initializer('w1', weight(16, 16, 1))], { name: 'logits' });
  let feed = logits!;
  if (options.reshape) [feed] = b.node('Reshape', [feed, b.initializer('shape', Tensor.fromArray(BigInt64Array.from([1n, 8n, 16n]), [3]))], { name: 'reshape' }) as [Value];
  if (options.softmax !== false) [feed] = b.node('Softmax', [feed], { name: 'softmax', attributes: { axis: -1 } }) as [Value];
  const [y] = b.node('MatMul', [feed, b.initializer('w2', weight(16, 4, 2))], { name: 'head' });
  b.output(y!, DataType.FLOAT, [1, 8, 4]);
  const model = b.model({ '': 17 });
  const softmax = model.graph.nodes().find((n) => n.opType === 'Softmax');
  return { model, softmaxInput: softmax?.inputs[0] ?? logits!, logits: logits! };
}

const quantkit = createQuantkit({ plugins: [outputPrecisionPlugin, plugin] });

async function prepared(model: Model, template = 'int8') {
  return prepare(model, { template, pipeline: quantkit.pipeline('prepare') });
}

describe('int16-into-softmax', () => {
  it('registers as a prepare pass that runs after the official output-precision passes', () => {
    expect(quantkit.pipeline('prepare').describe()).toEqual(['high-precision-output', 'reused-output-rescale', 'int16-into-softmax']);
  });

  it('1. an int8 Softmax input becomes int16; the rest of the plan stays int8', async () => {
    const { model } = attentionLike();
    const result = await prepared(model);
    const plan = quantPlanOf(result.model);
    const input = result.model.graph.nodes().find((n) => n.opType === 'Softmax')!.inputs[0]!;
    expect(plan.activations.get(input)!.dtype).toBe('qint16');
    const others = [...plan.activations.values()].filter((a) => a.value !== input).map((a) => a.dtype);
    expect(others.length).toBeGreaterThan(0);
    expect(new Set(others)).toEqual(new Set(['qint8']));
    expect(result.diagnostics).toContainEqual(expect.objectContaining({ pass: 'int16-into-softmax', node: 'softmax' }));
  });

  it('2. through a Reshape, the tensor that owns the shared scale becomes int16, so the whole path is int16', async () => {
    const { model } = attentionLike({ reshape: true });
    const result = await prepared(model);
    const plan = quantPlanOf(result.model);
    const graph = result.model.graph;
    const reshaped = graph.nodes().find((n) => n.opType === 'Softmax')!.inputs[0]!;
    const logits = graph.nodes().find((n) => n.name === 'logits')!.outputs[0]!;
    expect(plan.activations.get(reshaped)).toMatchObject({ dtype: 'qint16', shareWith: logits });
    expect(plan.activations.get(logits)!.dtype).toBe('qint16');
  });

  it('3. an input already int16 (the int16 template) is left alone', async () => {
    const { model } = attentionLike();
    const context = { options: {}, diagnose: () => {} };
    const result = await prepare(model, { template: 'int16' });
    expect(int16IntoSoftmax.run(result.model, context)).toEqual({ model: result.model, modified: false });
  });

  it('4. a model without Softmax is unchanged', async () => {
    const { model } = attentionLike({ softmax: false });
    const result = await prepare(model, { template: 'int8' });
    const before = [...quantPlanOf(result.model).activations.values()].map((a) => a.dtype);
    expect(int16IntoSoftmax.run(result.model, { options: {}, diagnose: () => {} })).toMatchObject({ modified: false });
    expect([...quantPlanOf(result.model).activations.values()].map((a) => a.dtype)).toEqual(before);
  });
});
