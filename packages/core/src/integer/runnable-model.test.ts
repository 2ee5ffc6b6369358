import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { IntegerGraphBuilder } from './integer-builder.js';
import { INTEGER_DOMAIN } from './integer-ops.js';
import { hasIntegerOps, runnableModel } from './runnable-model.js';

function floatModel() {
  const b = new GraphBuilder('float');
  const x = b.input('x', DataType.FLOAT, [2]);
  const [y] = b.node('Relu', [x], { name: 'relu', outputs: ['y'] });
  b.output(y!);
  return b.model({ '': 17 }, 8);
}

describe('runnableModel', () => {
  it('returns a standard model as it is, or a copy when asked', () => {
    const model = floatModel();
    expect(hasIntegerOps(model)).toBe(false);
    expect(runnableModel(model)).toBe(model);
    const copy = runnableModel(model, { copy: true });
    expect(copy).not.toBe(model);
    expect(copy.graph.nodes().map((n) => n.opType)).toEqual(['Relu']);
  });

  it('lowers a model with quantkit ops to standard ones, keeping input and output names, input untouched', () => {
    const b = new IntegerGraphBuilder('int');
    const x = b.input('x', DataType.FLOAT, [2]);
    const q = b.quantize(x, { scale: 0.5, dtype: 'int8' });
    const y = b.dequantize(q, { scale: 0.5 });
    b.output(y);
    const model = b.model();
    expect(hasIntegerOps(model)).toBe(true);
    const lowered = runnableModel(model);
    expect(lowered).not.toBe(model);
    expect(lowered.graph.nodes().some((n) => n.domain === INTEGER_DOMAIN)).toBe(false);
    expect(lowered.opsetImports.has(INTEGER_DOMAIN)).toBe(false);
    expect(lowered.graph.inputs.map((v) => v.name)).toEqual(['x']);
    expect(lowered.graph.outputs.map((v) => v.name)).toEqual([y.name]);
    expect(model.graph.nodes().every((n) => n.domain === INTEGER_DOMAIN)).toBe(true);
  });
});
