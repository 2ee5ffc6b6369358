import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marchNashHPlugin } from '@quantkit/march-nash-h';
import { marchNashMPlugin } from '@quantkit/march-nash-m';
import { minMaxObserverFactory } from '@quantkit/observers';
import { outputPrecisionPlugin } from '@quantkit/passes-output-precision';
import { beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../convert/convert.js';
import { parseNpy } from '../data/npy.js';
import { createQuantkit } from '../di/create-quantkit.js';
import { calibrateModel } from '../flow/calibrate-model.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { IntegerGraphBuilder } from '../integer/integer-builder.js';
import { NASH_H_VARIANTS, perfCompare } from './compare.js';
import { inferShapes } from './infer-shapes.js';
import { inferShapesByRunning } from './infer-shapes-by-running.js';
import { perf } from './perf.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const quantkit = createQuantkit({ plugins: [outputPrecisionPlugin, marchNashMPlugin, marchNashHPlugin] });
const info = JSON.parse(readFileSync(join(fixtures, 'models/seed_small_reuse/info.json'), 'utf8')) as { inputs: { shape: number[] }[] };

let qat: Model;
const converted = async (march: 'nash-m' | 'nash-h', integerConv = false) =>
  (await convert(qat, { march: quantkit.march(march), pipeline: quantkit.pipeline('convert'), integerConv })).model;

beforeAll(async () => {
  const result = await calibrateModel({
    modelPath: join(fixtures, 'models/seed_small_reuse/model.onnx'),
    data: { kind: 'dir', path: join(fixtures, 'calib/seed') },
    template: 'int8',
    observer: minMaxObserverFactory,
    pipeline: quantkit.pipeline('prepare'),
    workers: 1,
    version: '0.0.0-test',
  });
  qat = result.qat;
});

describe('perf on seed_small_reuse (calibrate → convert → perf)', () => {
  it('nash-m: both outputs leave the NPU as int32 and the host dequantizes each', async () => {
    const report = perf(await converted('nash-m'), quantkit.march('nash-m'));
    expect(report).toMatchObject({ estimate: true, march: 'nash-m', chip: 'J6M', unknownShapes: [] });
    expect(report.outputs.map((o) => [o.name, o.dtype])).toEqual([
      ['z', 'int32'],
      ['y', 'int32'],
    ]);
    for (const output of report.outputs) expect(output.cpuDequantizeUs).toBeGreaterThan(0);
    const [batch, rows, features] = info.inputs[0]!.shape as [number, number, number];
    const linear1 = report.ops.find((o) => o.name === '/linear1/MatMul')!;
    expect(linear1.macs).toBe(batch * rows * features * features);
    expect(report.totals.macs).toBe(batch * rows * (features * features + features * 60 + 60 * 60));
  });

  it('nash-h: float32 outputs need no host dequantize; integerConv brings it back, and --compare shows both', async () => {
    const march = quantkit.march('nash-h');
    const comparison = perfCompare(
      { label: NASH_H_VARIANTS.floatOutput, model: await converted('nash-h') },
      { label: NASH_H_VARIANTS.integerConv, model: await converted('nash-h', true) },
      march,
    );
    const [float, integer] = comparison.variants;
    expect(comparison.chip).toBe('J6P');
    expect(float!.outputs.map((o) => [o.dtype, o.cpuDequantizeUs])).toEqual([
      ['float32', 0],
      ['float32', 0],
    ]);
    expect(integer!.outputs.map((o) => o.dtype)).toEqual(['int32', 'int32']);
    expect(comparison.difference.cpuDequantizeUs).toBeCloseTo(integer!.totals.cpuDequantizeUs, 9);
    expect(comparison.difference.macs).toBe(0);
    expect(float!.ops.some((o) => o.opType === 'Quantize' && o.unit === 'vpu' && o.dtypes === 'float32→int8')).toBe(true);
    expect(integer!.ops.some((o) => o.opType === 'Rescale')).toBe(true);
  });

  it('gets the same shapes from one onnxruntime run as from static inference', async () => {
    const model = await converted('nash-m');
    const input = parseNpy(readFileSync(join(fixtures, 'calib/seed/input_000.npy')));
    const run = await inferShapesByRunning(model, new Map([[model.graph.inputs[0]!.name, input]]));
    const statics = inferShapes(model.graph);
    for (const node of model.graph) {
      for (const output of node.outputs) expect(run.get(output.name), output.name).toEqual(statics.get(output));
    }
    const byRun = perf(model, quantkit.march('nash-m'), { shapes: run });
    expect(byRun.totals).toEqual(perf(model, quantkit.march('nash-m')).totals);
  });
});

describe('inferShapesByRunning', () => {
  it('gives the shapes of ops static inference has no rule for, so perf can estimate them', async () => {
    const b = new IntegerGraphBuilder('fallback');
    const q = b.quantize(b.input('x', DataType.FLOAT, [3, 5]), { scale: 0.1, dtype: 'int8', name: 'q' });
    const dq = b.dequantize(q, { scale: 0.1, unit: 'cpu', name: 'dq' });
    const [t] = b.node('Einsum', [dq], { name: 'einsum', attributes: { equation: 'ij->ji' } });
    b.output(t!);
    const model = b.model();
    const march = quantkit.march('nash-m');
    expect(perf(model, march).unknownShapes).toEqual(['einsum']);
    const shapes = await inferShapesByRunning(model, new Map([['x', { dtype: 'float32', shape: [3, 5], data: new Float32Array(15) }]]));
    expect(shapes.get(t!.name)).toEqual([5, 3]);
    const report = perf(model, march, { shapes });
    expect(report.unknownShapes).toEqual([]);
    expect(report.ops.find((o) => o.name === 'einsum')).toMatchObject({ unit: 'cpu', kind: 'cpu-float', outputShape: [5, 3], estimated: true });
  });
});
