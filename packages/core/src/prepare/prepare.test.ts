import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { encodeModel } from '../onnx/encode.js';
import { Pipeline } from '../pass/pass-manager.js';
import type { Model } from '../ir/model.js';
import type { Pass, PassContext, Phase } from '../pass/pass.js';
import { prepare } from './prepare.js';
import { hasQuantPlan, quantPlanOf } from './quant-plan.js';
import { INT16_TEMPLATE } from './templates.js';

const zeros = (...dims: number[]) => Tensor.fromArray(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);

/** x → linear (MatMul + Add) → Sigmoid (fused into the linear's epilogue) → Reshape → Transpose → y. */
function model() {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 8]);
  const [mm] = b.node('MatMul', [x, b.initializer('w', zeros(8, 4))], { name: '/fc/MatMul' });
  const [add] = b.node('Add', [b.initializer('b', zeros(4)), mm!], { name: '/fc/Add' });
  const [relu] = b.node('Sigmoid', [add!], { name: '/act/Sigmoid' });
  const shape = b.initializer('shape', Tensor.fromArray(new BigInt64Array([4n, 2n]), [2]));
  const [reshaped] = b.node('Reshape', [relu!, shape], { name: '/r/Reshape' });
  const [y] = b.node('Transpose', [reshaped!], { name: '/t/Transpose' });
  b.output(y!);
  return b.model();
}

const byName = (names: Iterable<{ name: string }>) => [...names].map((v) => v.name);

function pass(name: string, body: (model: Model, context: PassContext) => void, phase: Phase = 'prepare'): Pass {
  return {
    info: { name, phase, summary: name },
    run(model, context) {
      body(model, context);
      return { model, modified: true };
    },
  };
}

describe('prepare', () => {
  it('does not modify its input, and attaches the plan to the copy', async () => {
    const input = model();
    const before = encodeModel(input);
    const { model: prepared, plan } = await prepare(input, { template: 'int16', overrides: [{ opType: 'Sigmoid', dtype: 'float' }] });
    expect(encodeModel(input)).toEqual(before);
    expect(prepared).not.toBe(input);
    expect(hasQuantPlan(input)).toBe(false);
    expect(quantPlanOf(prepared)).toBe(plan);
    expect(encodeModel(prepared)).toEqual(before);
  });

  it('uses int8 by default and a named or given template otherwise', async () => {
    const dtypes = async (template?: string | typeof INT16_TEMPLATE) =>
      [...(await prepare(model(), { template })).plan.activations.values()].map((a) => a.dtype);
    expect(new Set(await dtypes())).toEqual(new Set(['qint8']));
    expect(new Set(await dtypes('int16'))).toEqual(new Set(['qint16']));
    expect(new Set(await dtypes(INT16_TEMPLATE))).toEqual(new Set(['qint16']));
    await expect(prepare(model(), { template: 'int4' })).rejects.toMatchObject({ code: 'QK_CONFIG' });
  });

  it('runs the pipeline with reusedOutputs and the template as options', async () => {
    let seen: Record<string, unknown> = {};
    const spy = pass('spy', (_model, context) => (seen = { ...context.options }));
    await prepare(model(), { template: 'int16', pipeline: new Pipeline('p', 'prepare', [spy]) });
    expect(seen).toEqual({ reusedOutputs: 'rescale', template: INT16_TEMPLATE });
    await prepare(model(), { reusedOutputs: 'quantize', pipeline: new Pipeline('p', 'prepare', [spy]) });
    expect(seen.reusedOutputs).toBe('quantize');
  });

  it('applies overrides after the pipeline, so they win', async () => {
    const toInt16 = pass('to-int16', (m) => {
      for (const entry of quantPlanOf(m).activations.values()) entry.dtype = 'qint16';
    });
    const { plan } = await prepare(model(), {
      pipeline: new Pipeline('p', 'prepare', [toInt16]),
      overrides: [{ node: '/act/*', dtype: 'qint8' }],
    });
    const dtypes = Object.fromEntries([...plan.activations.values()].map((a) => [a.value.name, a.dtype]));
    expect(dtypes).toEqual({ x: 'qint16', '/act/Sigmoid_out0': 'qint8', '/r/Reshape_out0': 'qint8', '/t/Transpose_out0': 'qint8' });
  });

  it('leaves the plan in graph order with shareWith naming the observer owner', async () => {
    const reorder = pass('reorder', (m) => {
      const { activations } = quantPlanOf(m);
      const first = [...activations.values()][0]!;
      activations.delete(first.value);
      activations.set(first.value, first);
    });
    const { plan } = await prepare(model(), { pipeline: new Pipeline('p', 'prepare', [reorder]) });
    expect(byName(plan.activations.keys())).toEqual(['x', '/act/Sigmoid_out0', '/r/Reshape_out0', '/t/Transpose_out0']);
    const transpose = [...plan.activations.values()].at(-1)!;
    expect(transpose.shareWith?.name).toBe('/act/Sigmoid_out0');
  });

  it('refuses a convert-phase pass and a bad reusedOutputs', async () => {
    const convert = pass('lower', () => undefined, 'convert');
    await expect(prepare(model(), { pipeline: new Pipeline('p', 'prepare', [convert]) })).rejects.toMatchObject({
      code: 'QK_CONFIG',
      message: expect.stringContaining("'lower' (convert)"),
    });
    await expect(prepare(model(), { reusedOutputs: 'both' as 'rescale' })).rejects.toMatchObject({ code: 'QK_CONFIG' });
  });

  it('is deterministic', async () => {
    const describePlan = async () => {
      const { plan } = await prepare(model(), { template: 'int16', overrides: [{ node: '/r/*', dtype: 'qint8' }] });
      return [...plan.activations.values()].map((a) => [a.value.name, a.dtype, a.shareWith?.name, a.uses?.length]);
    };
    expect(await describePlan()).toEqual(await describePlan());
  });
});
