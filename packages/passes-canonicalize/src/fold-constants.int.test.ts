import { DataType, GraphBuilder, type Model, type PassContext } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { foldConstants } from './fold-constants.js';

async function run(model: Model) {
  const context: PassContext = { options: {}, diagnose: () => undefined };
  return (await foldConstants.run(model, context)).modified;
}

describe('fold-constants with shapes from an onnxruntime run', () => {
  it('3. Shape of an op static inference has no rule for (LRN) folds from one run on zeros', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [1, 4, 5, 6]);
    const [lrn] = b.node('LRN', [x], { attributes: { size: 3 } });
    const [shape] = b.node('Shape', [lrn!], { outputs: ['shape'] });
    const [y] = b.node('Reshape', [lrn!, shape!]);
    b.output(y!);
    const model = b.model({ '': 17 });
    expect(await run(model)).toBe(true);
    expect([...model.graph].map((n) => n.opType)).toEqual(['LRN', 'Reshape']);
    expect(Array.from(model.graph.initializers.get('shape')!.constValue!.toArray())).toEqual([1n, 4n, 5n, 6n]);
  });

  it('3. a shape that depends on data (after NonZero) is not taken from the run', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    const [nz] = b.node('NonZero', [x]);
    const [shape] = b.node('Shape', [nz!]);
    const [y] = b.node('Cast', [shape!], { attributes: { to: DataType.FLOAT } });
    b.output(y!);
    const model = b.model({ '': 17 });
    expect(await run(model)).toBe(false);
    expect([...model.graph].map((n) => n.opType)).toEqual(['NonZero', 'Shape', 'Cast']);
  });
});
