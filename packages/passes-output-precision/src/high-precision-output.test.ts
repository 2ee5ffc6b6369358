import {
  buildQuantPlan,
  DataType,
  GraphBuilder,
  INT16_TEMPLATE,
  INT8_TEMPLATE,
  setQuantPlan,
  Tensor,
  type Model,
  type PassContext,
  type QuantTemplate,
  type Value,
} from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { highPrecisionOutput } from './high-precision-output.js';

const zeros = (...dims: number[]) => Tensor.fromArray(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);

function linear(b: GraphBuilder, x: Value, name: string): Value {
  const [mm] = b.node('MatMul', [x, b.initializer(`${name}.w`, zeros(4, 4))], { name: `/${name}/MatMul` });
  return b.node('Add', [b.initializer(`${name}.b`, zeros(4)), mm!], { name: `/${name}/Add` })[0]!;
}

function run(model: Model, template: QuantTemplate = INT16_TEMPLATE) {
  const { plan } = buildQuantPlan(model, template);
  setQuantPlan(model, plan);
  const context: PassContext = { options: { template, reusedOutputs: 'rescale' }, diagnose: () => undefined };
  const { modified } = highPrecisionOutput.run(model, context) as { modified: boolean };
  return { plan, modified };
}

describe('high-precision-output', () => {
  it('1. a GEMM group whose output is a graph output read by no node gets a high-precision output', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 4]);
    const z = linear(b, linear(b, x, 'l1'), 'l2');
    b.output(z);
    const { plan, modified } = run(b.model());
    expect(modified).toBe(true);
    expect([...plan.highPrecision]).toEqual([z]);
    expect(plan.activations.has(z)).toBe(false);
    expect(plan.activations.size).toBe(2);
  });

  it('2. through Identity (chained): the same, and the Identity outputs lose their shared quantization', () => {
    const b = new GraphBuilder();
    const z = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'l1');
    const [i1] = b.node('Identity', [z]);
    const [i2] = b.node('Identity', [i1!]);
    b.output(i1!);
    b.output(i2!);
    const { plan } = run(b.model());
    expect([...plan.highPrecision]).toEqual([z]);
    expect([z, i1, i2].some((v) => plan.activations.has(v!))).toBe(false);
  });

  it('3. a GEMM group whose output is also read by another op is left to reused-output-rescale', () => {
    const b = new GraphBuilder();
    const y = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'l1');
    const [i] = b.node('Identity', [y]);
    const [r] = b.node('Relu', [i!]);
    b.output(y);
    b.output(r!);
    const { plan, modified } = run(b.model());
    expect(modified).toBe(false);
    expect(plan.highPrecision.size).toBe(0);
    expect(plan.activations.has(y)).toBe(true);
  });

  it('4. a GEMM group whose output is not a graph output is unchanged', () => {
    const b = new GraphBuilder();
    const y = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'l1');
    const [s] = b.node('Softmax', [y]); // not fusable: Sigmoid would join the group's epilogue
    b.output(s!);
    const { plan, modified } = run(b.model());
    expect(modified).toBe(false);
    expect(plan.activations.has(y)).toBe(true);
  });

  it('5. nothing changes when the template does not want high-precision outputs', () => {
    const b = new GraphBuilder();
    const z = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'l1');
    b.output(z);
    const { plan, modified } = run(b.model(), { ...INT8_TEMPLATE, name: 'flat', highPrecisionOutput: false });
    expect(modified).toBe(false);
    expect(plan.activations.has(z)).toBe(true);
  });

  it('6. a group output with no ActivationQuant (not a float tensor) is unchanged', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.INT32, [2, 4]);
    const [mm] = b.node('MatMul', [x, b.initializer('w', Tensor.fromArray(new Int32Array(16), [4, 4]))]);
    b.output(mm!);
    const { plan, modified } = run(b.model());
    expect(modified).toBe(false);
    expect(plan.highPrecision.size).toBe(0);
  });
});
