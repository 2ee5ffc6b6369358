import { DataType, GraphBuilder, Tensor, type Model, type PassContext, type PassDiagnostic, type Value } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { foldConstants, MAX_GROWN_ELEMENTS } from './fold-constants.js';

async function run(model: Model, diagnostics: PassDiagnostic[] = []) {
  const context: PassContext = { options: {}, diagnose: (d) => diagnostics.push({ ...d, pass: 'fold-constants' }) };
  return (await foldConstants.run(model, context)).modified;
}

const i64 = (...values: (number | bigint)[]) => Tensor.fromArray(new BigInt64Array(values.map((v) => BigInt(v))), [values.length]);
const f32 = (values: number[], dims = [values.length]) => Tensor.fromArray(new Float32Array(values), dims);
const ops = (model: Model) => [...model.graph].map((n) => n.opType);
const data = (value: Value | undefined) => Array.from(value!.constValue!.toArray() as ArrayLike<number | bigint>);

describe('fold-constants', async () => {
  it('1. a node over constants becomes an initializer of the same name; Clip gets constant bounds', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 4]);
    const [six] = b.node('Constant', [], { attributes: { value: f32([6], []) } });
    const [half] = b.node('Div', [six!, b.initializer('two', f32([2], []))], { outputs: ['max'] });
    const [lo] = b.node('Neg', [half!], { outputs: ['min'] });
    const [y] = b.node('Clip', [x, lo!, half!], { name: 'clip' });
    b.output(y!);
    const model = b.model({ '': 17 });
    expect(await run(model)).toBe(true);
    expect(ops(model)).toEqual(['Clip']);
    const clip = model.graph.nodes()[0]!;
    expect(clip.inputs.map((v) => v!.name)).toEqual(['x', 'min', 'max']);
    expect(data(clip.inputs[1])).toEqual([-3]);
    expect(data(clip.inputs[2])).toEqual([3]);
    expect(model.graph.initializers.has('two')).toBe(false);
  });

  it('2. Shape of a value with a static shape folds, and the Resize sizes chain after it folds too (3)', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 8, 5, 7]);
    const [relu] = b.node('Relu', [x]);
    const [shape] = b.node('Shape', [relu!]);
    const [hw] = b.node('Slice', [shape!, b.initializer('s', i64(2)), b.initializer('e', i64(4))]);
    const [hw2] = b.node('Mul', [hw!, b.initializer('k', i64(2))]);
    const [nc] = b.node('Gather', [shape!, b.initializer('idx', i64(0, 1))], { attributes: { axis: 0 } });
    const [sizes] = b.node('Concat', [nc!, hw2!], { attributes: { axis: 0 }, outputs: ['sizes'] });
    const [up] = b.node('Resize', [relu!, undefined, undefined, sizes!], { attributes: { mode: 'nearest' } });
    const [shape2] = b.node('Shape', [up!]);
    const [n] = b.node('Gather', [shape2!, b.initializer('three', Tensor.fromArray(new BigInt64Array([3n]), []))], { attributes: { axis: 0 } });
    const [nf] = b.node('Cast', [n!], { attributes: { to: DataType.FLOAT }, outputs: ['width'] });
    const [y] = b.node('Mul', [up!, nf!]);
    b.output(y!);
    const model = b.model({ '': 17 });
    expect(await run(model)).toBe(true);
    expect(ops(model)).toEqual(['Relu', 'Resize', 'Mul']);
    expect(data(model.graph.initializers.get('sizes'))).toEqual([1n, 8n, 10n, 14n]);
    expect(data(model.graph.initializers.get('width'))).toEqual([14]);
  });

  it('2. Shape of a value whose shape is not static is left alone', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['N', 3]);
    const [shape] = b.node('Shape', [x]);
    const [y] = b.node('Reshape', [x, shape!]);
    b.output(y!);
    const model = b.model({ '': 17 });
    expect(await run(model)).toBe(false);
    expect(ops(model)).toEqual(['Shape', 'Reshape']);
  });

  it('int64 arithmetic is exact beyond 2^53 and integer Div truncates toward zero as onnxruntime does', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.INT64, [2]);
    const big = 2n ** 60n + 3n;
    const [sum] = b.node('Add', [b.initializer('a', i64(big, -7)), b.initializer('b', i64(1, 0))]);
    const [quotient] = b.node('Div', [sum!, b.initializer('d', i64(2))], { outputs: ['q'] });
    b.output(b.node('Add', [x, quotient!])[0]!);
    const model = b.model({ '': 17 });
    expect(await run(model)).toBe(true);
    expect(data(model.graph.initializers.get('q'))).toEqual([(big + 1n) / 2n, -3n]);
  });

  it('Slice with negative steps, Reshape with 0 / -1, Transpose, Range and Cast evaluate as onnxruntime does', async () => {
    const b = new GraphBuilder();
    b.input('x', DataType.FLOAT, [1]);
    const t = b.initializer('t', f32([0, 1, 2, 3, 4, 5], [2, 3]));
    const [rev] = b.node('Slice', [t, b.initializer('st', i64(-1)), b.initializer('en', i64(-100)), b.initializer('ax', i64(1)), b.initializer('sp', i64(-2))], { outputs: ['rev'] });
    const [re] = b.node('Reshape', [t, b.initializer('shp', i64(0, -1, 1))], { outputs: ['re'] });
    const [tr] = b.node('Transpose', [t], { attributes: { perm: [1, 0] }, outputs: ['tr'] });
    const [rg] = b.node('Range', [b.initializer('r0', f32([0.1], [])), b.initializer('r1', f32([1], [])), b.initializer('r2', f32([0.3], []))], { outputs: ['rg'] });
    const [ct] = b.node('Cast', [b.initializer('c', f32([-2.7, 2.7, 300.5])), ], { attributes: { to: DataType.INT8 }, outputs: ['ct'] });
    const [sum] = b.node('Concat', [rev!, re!.producer()!.inputs[0]!], { attributes: { axis: 1 } });
    for (const v of [sum!, re!, tr!, rg!, ct!]) b.node('Identity', [v]).forEach((o) => b.output(o));
    const model = b.model({ '': 17 });
    await run(model);
    const init = (name: string) => model.graph.initializers.get(name)!;
    expect([init('rev').constValue!.dims, data(init('rev'))]).toEqual([[2, 2], [2, 0, 5, 3]]);
    expect(init('re').constValue!.dims).toEqual([2, 3, 1]);
    expect(data(init('tr'))).toEqual([0, 3, 1, 4, 2, 5]);
    let v = Math.fround(0.1);
    const expected = [v];
    for (let i = 1; i < 3; i++) expected.push((v = Math.fround(v + Math.fround(0.3))));
    expect(data(init('rg'))).toEqual(expected);
    expect(data(init('ct'))).toEqual([-2, 2, 44]);
  });

  it('4. a node that cannot be evaluated exactly (integer division by zero, float16) is left alone', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.INT64, [1]);
    const [q] = b.node('Div', [b.initializer('a', i64(4)), b.initializer('z', i64(0))], { name: 'by_zero' });
    const half = b.initializer('h', Tensor.fromArray(new Uint16Array([0x3c00]), [1], { dtype: DataType.FLOAT16 }));
    const [h] = b.node('Neg', [half], { name: 'neg_half' });
    b.output(b.node('Add', [x, q!])[0]!);
    b.output(h!);
    const model = b.model({ '': 17 });
    const diagnostics: PassDiagnostic[] = [];
    expect(await run(model, diagnostics)).toBe(false);
    expect(ops(model)).toEqual(['Div', 'Neg', 'Add']);
    expect(diagnostics.map((d) => d.message)).toEqual(['by_zero (Div) is not folded: integer division by zero.']);
  });

  it('5. a result that would grow the model (ConstantOfShape of a large shape) stays computed; a small one folds', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1]);
    const [big] = b.node('ConstantOfShape', [b.initializer('big', i64(MAX_GROWN_ELEMENTS + 1))], { name: 'big' });
    const [small] = b.node('ConstantOfShape', [b.initializer('small', i64(3))], { name: 'small', outputs: ['zeros'] });
    b.output(b.node('Add', [x, big!])[0]!);
    b.output(b.node('Add', [x, small!])[0]!);
    const model = b.model({ '': 17 });
    await run(model);
    expect([...model.graph].map((n) => n.name)).toContain('big');
    expect(data(model.graph.initializers.get('zeros'))).toEqual([0, 0, 0]);
  });

  it('6. a node whose output is a graph output is left alone', async () => {
    const b = new GraphBuilder();
    b.input('x', DataType.FLOAT, [1]);
    b.output(b.node('Add', [b.initializer('a', f32([1])), b.initializer('b', f32([2]))])[0]!);
    const model = b.model({ '': 17 });
    expect(await run(model)).toBe(false);
    expect(ops(model)).toEqual(['Add']);
  });

  it('7. initializers unused before the pass, and initializers that are graph inputs, are kept', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1]);
    b.initializer('unused', f32([1]));
    const d = b.initializer('default', f32([2]));
    b.graph.addInput(d);
    const [s] = b.node('Sqrt', [b.initializer('four', f32([4]))]);
    const [t] = b.node('Sqrt', [d]);
    b.output(b.node('Add', [x, s!])[0]!);
    b.output(b.node('Add', [x, t!])[0]!);
    const model = b.model({ '': 17 });
    await run(model);
    expect([...model.graph.initializers.keys()].sort()).toEqual(['default', 'sqrt_out0', 'sqrt_1_out0', 'unused'].sort());
  });
});
