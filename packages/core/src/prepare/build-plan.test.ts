import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { buildQuantPlan } from './build-plan.js';
import { INT16_TEMPLATE, INT8_TEMPLATE } from './templates.js';

const zeros = (...dims: number[]) => Tensor.fromArray(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
const int64s = (...values: number[]) => Tensor.fromArray(new BigInt64Array(values.map(BigInt)), [values.length]);

describe('buildQuantPlan', () => {
  it('quantizes the float graph inputs and each GEMM group output, never the values inside a group', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 8]);
    const ids = b.input('ids', DataType.INT64, [2]);
    const [mm] = b.node('MatMul', [x, b.initializer('w', zeros(8, 4))]);
    const [add] = b.node('Add', [b.initializer('b', zeros(4)), mm!]);
    const [relu] = b.node('Relu', [add!]);
    b.output(relu!);
    b.output(ids);
    const { plan } = buildQuantPlan(b.model(), INT16_TEMPLATE);
    expect([...plan.activations.keys()]).toEqual([x, relu]);
    expect([...plan.activations.values()].map((a) => a.dtype)).toEqual(['qint16', 'qint16']);
    expect(plan.template).toBe('int16');
    expect(plan.groups).toHaveLength(1);
    expect(plan.highPrecision.size + plan.float.size).toBe(0);
  });

  it('quantizes elementwise outputs and leaves their constant operands (VPU island parameters) float', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 8]);
    const gamma = b.initializer('gamma', zeros(8));
    const [ln] = b.node('LayerNormalization', [x, gamma, b.initializer('beta', zeros(8))]);
    const [scaled] = b.node('Mul', [ln!, b.node('Constant', [], { attributes: { value: zeros(1) } })[0]!]);
    b.output(scaled!);
    const { plan } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect([...plan.activations.keys()]).toEqual([x, ln, scaled]);
  });

  it('quantizes a standalone SiLU, Mul(x, Sigmoid(x)), once: at the Mul, not at the Sigmoid', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 2, 4, 4]);
    const [t] = b.node('Tanh', [x]);
    const [gate] = b.node('Sigmoid', [t!]);
    const [silu] = b.node('Mul', [t!, gate!]);
    const [lone] = b.node('Sigmoid', [silu!]);
    b.output(lone!);
    const { plan } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect([...plan.activations.keys()]).toEqual([x, t, silu, lone]);
  });

  it('lets a nearest Resize share its input quantization; a linear Resize gets its own', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 2, 4, 4]);
    const [relu] = b.node('Relu', [x]);
    const roi = b.initializer('roi', zeros(0));
    const scales = b.initializer('scales', Tensor.fromArray(new Float32Array([1, 1, 2, 2]), [4]));
    const [near] = b.node('Resize', [relu!, roi, scales], { attributes: { mode: 'nearest' } });
    const [bilinear] = b.node('Resize', [near!, roi, scales], { attributes: { mode: 'linear' } });
    b.output(bilinear!);
    const { plan } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect(plan.activations.get(near!)?.shareWith).toBe(relu);
    expect(plan.activations.get(bilinear!)?.shareWith).toBeUndefined();
    expect(plan.activations.has(bilinear!)).toBe(true);
  });

  it('lets a pass-through share its input 0 quantization, and gives Concat its own', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 8]);
    const [relu] = b.node('Relu', [x]);
    const [shape] = b.node('Constant', [], { attributes: { value: int64s(4, 4) } });
    const [reshaped] = b.node('Reshape', [relu!, shape!]);
    const [transposed] = b.node('Transpose', [reshaped!]);
    const [cat] = b.node('Concat', [transposed!, transposed!], { attributes: { axis: 0 } });
    b.output(cat!);
    const { plan } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect(plan.activations.get(reshaped!)?.shareWith).toBe(relu);
    expect(plan.activations.get(transposed!)?.shareWith).toBe(reshaped);
    expect(plan.activations.get(cat!)).toEqual({ value: cat, dtype: 'qint8' });
    expect(plan.activations.has(shape!)).toBe(false);
  });

  it('never quantizes shape arithmetic, even when it turns into floats', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 8]);
    const [shape] = b.node('Shape', [x]);
    const [dim] = b.node('Gather', [shape!, b.initializer('i', int64s(1))]);
    const [asFloat] = b.node('Cast', [dim!], { attributes: { to: DataType.FLOAT } });
    const [root] = b.node('Sqrt', [asFloat!]);
    const [scaled] = b.node('Div', [x, root!]);
    b.output(scaled!);
    const { plan, diagnostics } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect([...plan.activations.keys()]).toEqual([x, scaled]);
    expect(diagnostics).toEqual([]);
  });

  it('gives a Gather from a constant table (an embedding) its own observer', () => {
    const b = new GraphBuilder();
    const ids = b.input('ids', DataType.INT64, [3]);
    const [emb] = b.node('Gather', [b.initializer('table', zeros(10, 4)), ids]);
    b.output(emb!);
    const { plan } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect(plan.activations.get(emb!)).toEqual({ value: emb, dtype: 'qint8' });
  });

  it('quantizes the float outputs of a CPU fallback op and reports it', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 8]);
    const [values, indices] = b.node('TopK', [x, b.initializer('k', int64s(2))], { name: 'topk', outputs: 2 });
    const [custom] = b.node('MyOp', [values!], { name: 'mine', domain: 'com.example' });
    b.output(custom!);
    b.output(indices!);
    const { plan, diagnostics } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect([...plan.activations.keys()]).toEqual([x, values, custom]);
    expect(diagnostics.map((d) => [d.node, d.level])).toEqual([
      ['topk', 'warning'],
      ['mine', 'warning'],
    ]);
    expect(diagnostics[0]!.message).toContain("'topk' (TopK) has no BPU or VPU implementation");
  });

  it('reports a GEMM-like op it could not fuse and quantizes its output like a CPU fallback', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
    const w = b.input('w', DataType.FLOAT, [4, 3, 1, 1]);
    const [c] = b.node('Conv', [x, w], { name: 'dynconv' });
    b.output(c!);
    const { plan, diagnostics } = buildQuantPlan(b.model(), INT8_TEMPLATE);
    expect([...plan.activations.keys()]).toEqual([x, w, c]);
    expect(diagnostics[0]!.message).toContain('its weight is not a constant');
  });
});
