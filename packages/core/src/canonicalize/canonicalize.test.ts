import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { tensorShape } from '../ir/type-info.js';
import { Pipeline } from '../pass/pass-manager.js';
import type { Pass } from '../pass/pass.js';
import { canonicalize } from './canonicalize.js';

function model(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 4]);
  const [r] = b.node('Relu', [x]);
  r!.type = { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 7 }, { dimValue: 4 }] } } };
  const [i] = b.node('Identity', [r!]);
  b.output(b.node('Mul', [i!, b.initializer('w', Tensor.fromArray(new Float32Array(4), [4]))])[0]!);
  return b.model({ '': 17 });
}

/** A canonicalize pass that drops inner Identity nodes (stands in for the real passes, which live in a plugin). */
const dropIdentity: Pass = {
  info: { name: 'drop-identity', phase: 'canonicalize', summary: 'test' },
  run(m) {
    for (const node of m.graph.nodes()) {
      if (node.opType !== 'Identity') continue;
      node.output.replaceAllUsesWith(node.inputs[0]!);
      m.graph.remove(node);
      return { model: m, modified: true };
    }
    return { model: m, modified: false };
  },
};

describe('canonicalize', () => {
  it('runs the pipeline on a copy, fixes the input shapes, forgets stale inner shapes and reports the op histograms', async () => {
    const original = model();
    const result = await canonicalize(original, {
      pipeline: new Pipeline('canonicalize', 'canonicalize', [dropIdentity]),
      inputShapes: [{ name: 'x', dims: [2, 4] }],
    });
    expect(original.graph.nodeCount).toBe(3);
    expect([...result.model.graph].map((n) => n.opType)).toEqual(['Relu', 'Mul']);
    expect(tensorShape(result.model.graph.inputs[0]!.type)).toEqual([2, 4]);
    expect(tensorShape(result.model.graph.nodes()[0]!.output.type)).toBeUndefined();
    expect(result.inputShapes).toEqual({ x: { shape: [2, 4], from: '--input-shape' } });
    expect(result.summary).toEqual({
      passes: [{ pass: 'drop-identity', modified: true }],
      ops: { before: { Identity: 1, Mul: 1, Relu: 1 }, after: { Mul: 1, Relu: 1 } },
      nodes: { before: 3, after: 2 },
    });
  });

  it('refuses passes of another phase (QK_CONFIG)', async () => {
    const prepare = { ...dropIdentity, info: { ...dropIdentity.info, phase: 'prepare' as const } };
    await expect(canonicalize(model(), { pipeline: new Pipeline('p', 'canonicalize', [prepare]) })).rejects.toMatchObject({ code: 'QK_CONFIG' });
  });

  it('verifies the result: a pass that leaves an undefined value fails with QK_GRAPH_INVALID', async () => {
    const broken: Pass = {
      info: { name: 'broken', phase: 'canonicalize', summary: 'test' },
      run(m) {
        m.graph.remove(m.graph.nodes()[0]!, { force: true });
        return { model: m, modified: true };
      },
    };
    await expect(canonicalize(model(), { pipeline: new Pipeline('c', 'canonicalize', [broken]) })).rejects.toMatchObject({ code: 'QK_GRAPH_INVALID' });
  });
});
