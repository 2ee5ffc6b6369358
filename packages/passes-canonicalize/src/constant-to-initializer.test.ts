import { Attribute, DataType, GraphBuilder, Tensor, type PassContext, type PassDiagnostic } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { constantToInitializer } from './constant-to-initializer.js';

function context(diagnostics: PassDiagnostic[] = []): PassContext {
  return { options: {}, diagnose: (d) => diagnostics.push({ ...d, pass: 'constant-to-initializer' }) };
}

/** x + Constant(attribute) → y; returns the model and the Constant's output. */
function withConstant(attribute: Attribute) {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const [c] = b.node('Constant', [], { name: 'c', attributes: { [attribute.name]: attribute }, outputs: ['c_value'] });
  const [y] = b.node('Add', [x, c!], { name: 'add' });
  b.output(y!);
  return { model: b.model({ '': 17 }), c: c! };
}

describe('constant-to-initializer', () => {
  it('1. `value` (a tensor) becomes an initializer of the same name and uses, and the node goes', () => {
    const tensor = Tensor.fromArray(new Int8Array([1, -2, 3, -4, 5, -6]), [2, 3]);
    const { model, c } = withConstant(Attribute.tensor('value', tensor));
    const { modified } = constantToInitializer.run(model, context()) as { modified: boolean };
    expect(modified).toBe(true);
    expect([...model.graph].map((n) => n.opType)).toEqual(['Add']);
    const init = model.graph.initializers.get('c_value')!;
    expect(init).toBe(c);
    expect(init.producer()).toBeUndefined();
    expect(init.constValue!.dtype).toBe(DataType.INT8);
    expect(init.constValue!.dims).toEqual([2, 3]);
    expect(Array.from(init.constValue!.toArray())).toEqual([1, -2, 3, -4, 5, -6]);
    expect(init.uses().map((u) => u.node.name)).toEqual(['add']);
  });

  it('2. value_float / value_floats give a float32 scalar / 1-D tensor', () => {
    const scalar = withConstant(Attribute.float('value_float', 0.5));
    constantToInitializer.run(scalar.model, context());
    const s = scalar.model.graph.initializers.get('c_value')!.constValue!;
    expect([s.dtype, s.dims, Array.from(s.toArray())]).toEqual([DataType.FLOAT, [], [0.5]]);
    const list = withConstant(Attribute.floats('value_floats', [1, 2.5]));
    constantToInitializer.run(list.model, context());
    const l = list.model.graph.initializers.get('c_value')!.constValue!;
    expect([l.dtype, l.dims, Array.from(l.toArray())]).toEqual([DataType.FLOAT, [2], [1, 2.5]]);
  });

  it('3. value_int / value_ints give an int64 scalar / 1-D tensor, exact beyond 2^53', () => {
    const scalar = withConstant(Attribute.int('value_int', 7));
    constantToInitializer.run(scalar.model, context());
    const s = scalar.model.graph.initializers.get('c_value')!.constValue!;
    expect([s.dtype, s.dims, Array.from(s.toArray())]).toEqual([DataType.INT64, [], [7n]]);
    const big = 2n ** 62n + 1n;
    const list = withConstant(Attribute.ints('value_ints', [-1, big]));
    constantToInitializer.run(list.model, context());
    const l = list.model.graph.initializers.get('c_value')!.constValue!;
    expect([l.dtype, l.dims, Array.from(l.toArray())]).toEqual([DataType.INT64, [2], [-1n, big]]);
  });

  it('4. value_string stays a node, with an info diagnostic naming it', () => {
    const { model } = withConstant(Attribute.string('value_string', 'hello'));
    const diagnostics: PassDiagnostic[] = [];
    const { modified } = constantToInitializer.run(model, context(diagnostics)) as { modified: boolean };
    expect(modified).toBe(false);
    expect([...model.graph].map((n) => n.opType)).toEqual(['Constant', 'Add']);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]!.message).toContain('Constant c stays a node');
  });

  it('5. a Constant whose output is a graph output stays a node', () => {
    const b = new GraphBuilder();
    b.input('x', DataType.FLOAT, [2]);
    const [c] = b.node('Constant', [], { attributes: { value_float: 1.5 } });
    b.output(c!);
    const model = b.model({ '': 17 });
    expect((constantToInitializer.run(model, context()) as { modified: boolean }).modified).toBe(false);
    expect(model.graph.nodeCount).toBe(1);
    expect(model.graph.initializers.size).toBe(0);
  });
});
