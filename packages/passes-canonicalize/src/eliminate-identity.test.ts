import { DataType, GraphBuilder, Tensor, type PassContext, type PassDiagnostic } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { eliminateIdentity } from './eliminate-identity.js';

function run(model: Parameters<typeof eliminateIdentity.run>[0], diagnostics: PassDiagnostic[] = []) {
  const context: PassContext = { options: {}, diagnose: (d) => diagnostics.push({ ...d, pass: 'eliminate-identity' }) };
  return (eliminateIdentity.run(model, context) as { modified: boolean }).modified;
}

const ops = (model: { graph: Iterable<{ opType: string }> }) => [...model.graph].map((n) => n.opType);

describe('eliminate-identity', () => {
  it('1. an inner Identity goes and its users read its input', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const [r] = b.node('Relu', [x]);
    const [i] = b.node('Identity', [r!]);
    const [y] = b.node('Sigmoid', [i!], { name: 'sig' });
    b.output(y!);
    const model = b.model({ '': 17 });
    expect(run(model)).toBe(true);
    expect(ops(model)).toEqual(['Relu', 'Sigmoid']);
    expect(model.graph.nodes()[1]!.inputs[0]).toBe(r);
  });

  it('2. an inference Dropout goes; one with a used mask or a non-constant training_mode stays, with a diagnostic', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const t = b.input('t', DataType.BOOL, []);
    const off = b.initializer('off', Tensor.fromArray(new Uint8Array([0]), [], { dtype: DataType.BOOL }));
    const [d1] = b.node('Dropout', [x, undefined, off], { name: 'inference' });
    const [d2] = b.node('Dropout', [d1!, undefined, t], { name: 'maybe_training' });
    const [d3, mask] = b.node('Dropout', [d2!], { name: 'masked', outputs: 2 });
    b.output(d3!);
    b.output(mask!);
    const model = b.model({ '': 17 });
    const diagnostics: PassDiagnostic[] = [];
    expect(run(model, diagnostics)).toBe(true);
    expect([...model.graph].map((n) => n.name)).toEqual(['maybe_training', 'masked']);
    expect(model.graph.nodes()[0]!.inputs[0]).toBe(x);
    expect(diagnostics.map((d) => d.message)).toEqual([
      'maybe_training (Dropout) stays: its training_mode input is not a constant.',
      'masked (Dropout) stays: its mask output is used.',
    ]);
  });

  it('3. an Identity that names a graph output: its producer computes the output under that name', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const [r] = b.node('Relu', [x], { name: 'relu' });
    const [s] = b.node('Sigmoid', [r!], { name: 'sig' });
    const [y] = b.node('Identity', [r!], { outputs: ['y'] });
    b.output(s!);
    b.output(y!);
    const model = b.model({ '': 17 });
    expect(run(model)).toBe(true);
    expect(ops(model)).toEqual(['Relu', 'Sigmoid']);
    expect(model.graph.outputs.map((v) => v.name)).toEqual([s!.name, 'y']);
    expect(model.graph.outputs[1]!.producer()!.name).toBe('relu');
    expect(model.graph.nodes()[1]!.inputs[0]!.name).toBe('y');
  });

  it('4. an Identity from a graph input, an initializer or another graph output to a graph output stays', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const w = b.initializer('w', new Float32Array([1, 2]), [2]);
    const [r] = b.node('Relu', [x]);
    const [a] = b.node('Identity', [x], { outputs: ['a'] });
    const [c] = b.node('Identity', [w], { outputs: ['c'] });
    const [d] = b.node('Identity', [r!], { outputs: ['d'] });
    b.output(r!);
    for (const v of [a!, c!, d!]) b.output(v);
    const model = b.model({ '': 17 });
    expect(run(model)).toBe(false);
    expect(ops(model)).toEqual(['Relu', 'Identity', 'Identity', 'Identity']);
  });
});
