import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { tensorShape } from '../ir/type-info.js';
import { errorOf } from '../testing/error-of.js';
import { applyInputShapes, fixInputShapes, parseInputShape, resolveInputShapes } from './input-shapes.js';

function model() {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 3, 'H', 'W']);
  const m = b.input('mask', DataType.FLOAT, [1, 4]);
  const w = b.initializer('w', Tensor.fromArray(new Float32Array(1), [1]));
  b.graph.addInput(w);
  b.output(b.node('Mul', [x, w])[0]!);
  b.output(b.node('Relu', [m])[0]!);
  return b.model({ '': 17 });
}

describe('parseInputShape', () => {
  it('reads name=DxD… (x, comma or * between dims); a name may contain =', () => {
    expect(parseInputShape('x=1x3x160x160')).toEqual({ name: 'x', dims: [1, 3, 160, 160] });
    expect(parseInputShape('a=b=2,3')).toEqual({ name: 'a=b', dims: [2, 3] });
    expect(parseInputShape('x=0x-1')).toEqual({ name: 'x', dims: [0, -1] });
  });

  it('refuses text that is not name=DIMS (QK_USAGE)', () => {
    for (const text of ['x', '=1x3', 'x=', 'x=1xx3', 'x=1.5']) expect(errorOf(() => parseInputShape(text)).code).toBe('QK_USAGE');
  });
});

describe('resolveInputShapes', () => {
  it('takes the flag, else the first sample for symbolic dims, else the model; initializer inputs are not inputs', () => {
    const shapes = resolveInputShapes(model(), [{ name: 'x', dims: [1, 3, 32, 48] }]);
    expect(shapes).toEqual({ x: { shape: [1, 3, 32, 48], from: '--input-shape' }, mask: { shape: [1, 4], from: 'the model' } });
    const fromSample = resolveInputShapes(model(), [], { id: 's0.npz', shapes: new Map([['x', [2, 3, 8, 8]]]) });
    expect(fromSample.x).toEqual({ shape: [2, 3, 8, 8], from: 'the first sample (s0.npz)' });
    expect(resolveInputShapes(model(), []).x).toBeUndefined();
  });

  it('refuses an unknown input, a wrong rank, a zero or negative dim and a clash with a fixed dim, naming flag and input', () => {
    const cases: [string, number[], string][] = [
      ['y', [1], "--input-shape y: the model has no input named 'y'."],
      ['w', [1], "--input-shape w: the model has no input named 'w'."],
      ['x', [1, 3, 32], "--input-shape x: rank 3 (1x3x32), but input 'x' has rank 4 [N, 3, H, W]."],
      ['x', [1, 3, 0, 32], "--input-shape x: dim 2 of input 'x' is 0; every dim must be at least 1."],
      ['x', [-1, 3, 8, 32], "--input-shape x: dim 0 of input 'x' is -1; every dim must be at least 1."],
      ['x', [1, 4, 8, 8], "--input-shape x: dim 1 of input 'x' is fixed to 3 by the model, not 4."],
    ];
    for (const [name, dims, message] of cases) {
      const error = errorOf(() => resolveInputShapes(model(), [{ name, dims }]));
      expect([error.code, error.message, error.subject]).toEqual(['QK_INPUT_SHAPE', message, name]);
    }
  });
});

describe('fixInputShapes', () => {
  it('writes the dims into the input types and says whether any changed', () => {
    const m = model();
    const shapes = resolveInputShapes(m, [{ name: 'x', dims: [1, 3, 8, 8] }]);
    expect(fixInputShapes(m, shapes)).toBe(true);
    expect(tensorShape(m.graph.inputs[0]!.type)).toEqual([1, 3, 8, 8]);
    expect(fixInputShapes(m, shapes)).toBe(false);
  });
});

describe('applyInputShapes', () => {
  it('fixes only the given inputs, in place, after the same checks', () => {
    const m = model();
    expect(applyInputShapes(m, [{ name: 'x', dims: [1, 3, 4, 4] }])).toEqual({ x: { shape: [1, 3, 4, 4], from: '--input-shape' } });
    expect(tensorShape(m.graph.inputs[0]!.type)).toEqual([1, 3, 4, 4]);
    expect(errorOf(() => applyInputShapes(model(), [{ name: 'x', dims: [1] }])).code).toBe('QK_INPUT_SHAPE');
  });
});
