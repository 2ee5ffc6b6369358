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
import { reusedOutputRescale } from './reused-output-rescale.js';

const zeros = (...dims: number[]) => Tensor.fromArray(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);

function linear(b: GraphBuilder, x: Value, name: string): Value {
  const [mm] = b.node('MatMul', [x, b.initializer(`${name}.w`, zeros(4, 4))], { name: `/${name}/MatMul` });
  return b.node('Add', [b.initializer(`${name}.b`, zeros(4)), mm!], { name: `/${name}/Add` })[0]!;
}

function run(model: Model, options: { template?: QuantTemplate; reusedOutputs?: string } = {}) {
  const template = options.template ?? INT16_TEMPLATE;
  const { plan } = buildQuantPlan(model, template);
  setQuantPlan(model, plan);
  const context: PassContext = { options: { template, reusedOutputs: options.reusedOutputs ?? 'rescale' }, diagnose: () => undefined };
  const { modified } = reusedOutputRescale.run(model, context) as { modified: boolean };
  return { plan, modified };
}

/** The seed's case 2: y = linear2(x) is a graph output and linear3's input; z = linear3(y). */
function seedReuse() {
  const b = new GraphBuilder();
  const y = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'linear2');
  const z = linear(b, y, 'linear3');
  b.output(z);
  b.output(y);
  const linear3 = b.graph.nodes().find((n) => n.name === '/linear3/MatMul')!;
  return { model: b.model(), y, z, linear3 };
}

describe('reused-output-rescale', () => {
  it('1. a graph output read by other ops stays high precision; the ops read a quantized copy', () => {
    const { model, y, linear3 } = seedReuse();
    const { plan, modified } = run(model);
    expect(modified).toBe(true);
    expect(plan.highPrecision.has(y)).toBe(true);
    expect(plan.activations.get(y)).toEqual({ value: y, dtype: 'qint16', uses: [{ node: linear3, index: 0 }] });
  });

  it('1. every other consumer is kept in `uses`, a residual Add included', () => {
    const b = new GraphBuilder();
    const p = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'c2');
    const c3 = linear(b, p, 'c3');
    const [sum] = b.node('Add', [c3, p], { name: 'residual' });
    b.output(p);
    b.output(sum!);
    const { plan } = run(b.model());
    expect(plan.activations.get(p)?.uses?.map((u) => [u.node.name, u.index])).toEqual([
      ['/c3/MatMul', 0],
      ['residual', 1],
    ]);
  });

  it('2. through Identity to the graph output: the Identity use is left out and loses its quantization', () => {
    const b = new GraphBuilder();
    const y = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'linear2');
    const [out] = b.node('Identity', [y], { name: 'id' });
    const z = linear(b, y, 'linear3');
    b.output(z);
    b.output(out!);
    const { plan } = run(b.model());
    expect(plan.highPrecision.has(y)).toBe(true);
    expect(plan.activations.get(y)?.uses?.map((u) => u.node.name)).toEqual(['/linear3/MatMul']);
    expect(plan.activations.has(out!)).toBe(false);
  });

  it('3. an Identity that reaches a graph output but also feeds an op counts as a consumer: unchanged', () => {
    const b = new GraphBuilder();
    const y = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'linear2');
    const [i] = b.node('Identity', [y]);
    const z = linear(b, i!, 'linear3');
    b.output(z);
    b.output(i!);
    const { plan, modified } = run(b.model());
    expect(modified).toBe(false);
    expect(plan.activations.get(y)?.uses).toBeUndefined();
  });

  it("4. reusedOutputs 'quantize' quantizes the whole tensor, graph output included", () => {
    const { model, y } = seedReuse();
    const { plan, modified } = run(model, { reusedOutputs: 'quantize' });
    expect(modified).toBe(false);
    expect(plan.highPrecision.size).toBe(0);
    expect(plan.activations.get(y)).toEqual({ value: y, dtype: 'qint16' });
  });

  it('5. nothing changes when the template does not want high-precision outputs', () => {
    const { model, y } = seedReuse();
    const { plan, modified } = run(model, { template: { ...INT8_TEMPLATE, name: 'flat', highPrecisionOutput: false } });
    expect(modified).toBe(false);
    expect(plan.activations.get(y)?.uses).toBeUndefined();
  });

  it('6. an output read only by graph outputs, or not a graph output, is unchanged', () => {
    const { model, z } = seedReuse();
    expect(run(model).plan.activations.get(z)).toEqual({ value: z, dtype: 'qint16' });
    const b = new GraphBuilder();
    const h = linear(b, b.input('x', DataType.FLOAT, [2, 4]), 'l1');
    b.output(linear(b, h, 'l2'));
    const { plan, modified } = run(b.model());
    expect(modified).toBe(false);
    expect(plan.activations.get(h)).toEqual({ value: h, dtype: 'qint16' });
  });
});
