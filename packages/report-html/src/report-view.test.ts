import { describe, expect, it } from 'vitest';
import { readReport } from './report-view.js';

const metrics = (sqnrDb: number) => ({ sqnrDb, cosine: 0.99, maxAbs: 0.1, meanAbs: 0.01 });

describe('readReport', () => {
  it('case 1: facts that are present, nothing for those that are not', () => {
    const view = readReport({ quantkit: '0.1.0', model: { file: 'm.onnx' }, config: { template: 'int8' }, march: 'nash-m' });
    expect(view.title).toBe('m.onnx');
    expect(view.facts).toEqual([
      ['model', 'm.onnx'],
      ['quantkit', '0.1.0'],
      ['template', 'int8'],
      ['march', 'nash-m'],
    ]);
  });

  it('case 2: outputs with the integer metrics and the floor; the lowest floor is the chart floor', () => {
    const view = readReport({
      outputs: { a: { ...metrics(30), weightOnly: metrics(40) }, b: { ...metrics(20), weightOnly: metrics(35) } },
      integer: { outputs: { a: { ...metrics(29.5), lsbAgreement: 0.98 } } },
    });
    expect(view.outputs[0]).toMatchObject({ name: 'a', qat: { sqnrDb: 30 }, integer: { sqnrDb: 29.5, lsbAgreement: 0.98 }, floor: { sqnrDb: 40 } });
    expect(view.outputs[1]).toMatchObject({ name: 'b', integer: null, floor: { sqnrDb: 35 } });
    expect(view.floorDb).toBe(35);
  });

  it('case 3: layers in graph order when every layer has one, else in file order', () => {
    const ordered = readReport({ layers: [{ tensor: 'c', order: 3, ...metrics(10) }, { tensor: 'a', order: 1, ...metrics(20) }, { tensor: 'b', order: 1, ...metrics(30) }] });
    expect(ordered.layers.map((l) => [l.index, l.tensor])).toEqual([[0, 'a'], [1, 'b'], [2, 'c']]);
    expect(ordered.layersInGraphOrder).toBe(true);
    const old = readReport({ layers: [{ tensor: 'c', ...metrics(10) }, { tensor: 'a', order: 1, ...metrics(20) }, { sqnrDb: 3 }] });
    expect(old.layers.map((l) => l.tensor)).toEqual(['c', 'a']);
    expect(old.layersInGraphOrder).toBe(false);
  });

  it('case 4: sensitivity rows labelled and valued by the first known fields', () => {
    const view = readReport({ sensitivity: [{ node: 'conv1', tensor: 't', gainDb: 1.5 }, { name: 'fc', gainDb: 0.5 }, { gainDb: 2 }] });
    expect(view.sensitivity).toEqual({ metric: 'gainDb', rows: [{ label: 'conv1', value: 1.5 }, { label: 'fc', value: 0.5 }] });
    expect(readReport({}).sensitivity).toBeNull();
    expect(readReport({ sensitivity: { rows: [{ tensor: 'x', sqnrDb: 12 }] } }).sensitivity?.rows).toEqual([{ label: 'x', value: 12 }]);
  });

  it('case 5: ops with the dtype they produce', () => {
    const view = readReport({ ops: [{ name: 'c', opType: 'Conv', unit: 'bpu', dtypes: 'int8×int8→int32', latencyUs: 2 }, { name: 'q', dtypes: 'float32' }, 7] });
    expect(view.ops).toEqual([
      { index: 0, name: 'c', opType: 'Conv', unit: 'bpu', dtypes: 'int8×int8→int32', outDtype: 'int32', latencyUs: 2 },
      { index: 1, name: 'q', opType: '', unit: 'unknown', dtypes: 'float32', outDtype: 'float32', latencyUs: null },
    ]);
  });

  it('case 6: perf totals and the variants of a comparison', () => {
    const totals = { latencyUs: 10, bpuUs: 6, vpuUs: 3, cpuUs: 1, cpuDequantizeUs: 0.5 };
    const view = readReport({
      perf: { march: 'nash-h', chip: 'J6P', disclaimer: 'estimate', totals },
      perfCompare: { variants: [{ variant: 'float-output', totals }, { label: 'integer-conv', totals: { bpuUs: 5 } }, {}] },
    });
    expect(view.perf).toEqual({ march: 'nash-h', chip: 'J6P', disclaimer: 'estimate', ...totals });
    expect(view.perfVariants).toEqual([
      { label: 'float-output', bpuUs: 6, vpuUs: 3, cpuUs: 1 },
      { label: 'integer-conv', bpuUs: 5, vpuUs: 0, cpuUs: 0 },
    ]);
    expect(readReport({ perf: { march: 'nash-m' } }).perf).toBeNull();
  });

  it('case 7: fallbacks with reasons, or the bare node names', () => {
    expect(readReport({ fallbackReasons: [{ node: 'n', opType: 'Erf', reason: 'no lowering' }] }).fallbacks).toEqual([{ node: 'n', opType: 'Erf', reason: 'no lowering' }]);
    expect(readReport({ fallback: ['n', 3] }).fallbacks).toEqual([{ node: 'n', opType: '', reason: '' }]);
  });

  it('reads anything without throwing', () => {
    for (const raw of [null, 3, 'x', [], { outputs: 5, layers: {}, ops: 'x', perf: [], integer: { outputs: [] } }]) {
      expect(() => readReport(raw)).not.toThrow();
    }
  });
});
