import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { minMaxObserverFactory, mseObserverFactory } from '@quantkit/observers';
import { describe, expect, it } from 'vitest';
import type { CalibrationSource } from '../data/calibration-data.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { loadModel } from '../onnx/files.js';
import { prepare } from '../prepare/prepare.js';
import { setQuantPlan, type ActivationQuant } from '../prepare/quant-plan.js';
import { templateByName } from '../prepare/templates.js';
import type { Observer, ObserverFactory } from '../quant/observer.js';
import { calibrate, calibrationTargets } from './calibrate.js';
import { calibrationModel } from './calibration-model.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));

/** The same observers without observeSummary: calibration then fetches every tensor, as before summaries. */
function elementsOnly(inner: ObserverFactory): ObserverFactory {
  return {
    ...inner,
    create: (options, config) => {
      const observer = inner.create(options, config);
      const plain: Observer = {
        kind: observer.kind,
        options: observer.options,
        observe: (data, dims) => observer.observe(data, dims),
        state: () => observer.state(),
        merge: (state) => observer.merge(state),
        qparams: () => observer.qparams(),
      };
      return plain;
    },
  };
}

async function prepared(name: string): Promise<Model> {
  const float = await loadModel(join(fixtures, `models/${name}/model.onnx`));
  return (await prepare(float, { template: templateByName('int8') })).model;
}

/** x → Relu → y, observing y: all-negative data makes y all zeros, a range no histogram can be binned on in float32. */
function reluModel(): Model {
  const b = new GraphBuilder('relu');
  const x = b.input('x', DataType.FLOAT, [1, 8]);
  const [h] = b.node('Mul', [x, x], { outputs: ['h'] });
  const [y] = b.node('Relu', [x], { outputs: ['y'] });
  const [z] = b.node('Add', [h!, y!], { outputs: ['z'] });
  b.output(z!, DataType.FLOAT, [1, 8]);
  const model = b.model({ '': 17 });
  const values = model.graph.valuesByName();
  const activations = new Map<ActivationQuant['value'], ActivationQuant>();
  for (const name of ['h', 'y', 'z']) activations.set(values.get(name)!, { value: values.get(name)!, dtype: 'qint8' });
  setQuantPlan(model, { template: 'test', groups: [], activations, highPrecision: new Set(), float: new Set() });
  return model;
}

function source(rows: number[][]): CalibrationSource {
  return {
    description: 'rows',
    count: rows.length,
    async *samples() {
      for (const [i, row] of rows.entries()) {
        yield { id: `row${i}`, inputs: new Map([['x', { dtype: 'float32', shape: [1, 8], data: Float32Array.from(row) }]]) };
      }
    },
  };
}

describe('in-graph calibration summaries', () => {
  it('1. only summaries leave the session when every observer takes one (minmax; mse at opset 16 and later)', async () => {
    const model = await prepared('seed_small_single');
    const targets = calibrationTargets(model);
    for (const factory of [minMaxObserverFactory, mseObserverFactory]) {
      const needsOf = (dtype: string) => factory.create({ dtype: dtype as 'qint8', granularity: { kind: 'per-tensor' } }).summaryNeeds?.();
      const run = calibrationModel(model, targets, needsOf, 'seed');
      const computed = targets.filter((t) => run.sources.get(t.name)!.kind === 'output');
      expect(computed.length).toBeGreaterThan(0);
      expect(run.summaries.size).toBe(computed.length);
      for (const { name } of targets) expect(run.fetch, name).not.toContain(name);
    }
  });

  it('2. states equal those of observing the elements (minmax and mse, opset 17 and opset 11 models)', async () => {
    for (const [name, calib] of [
      ['seed_small_single', 'seed'],
      ['lcnet_dbnet', 'lcnet_dbnet'],
    ] as const) {
      const model = await prepared(name);
      const spec = { spec: { kind: 'dir' as const, path: join(fixtures, 'calib', calib) } };
      for (const factory of [minMaxObserverFactory, mseObserverFactory]) {
        const summarised = await calibrate(model, spec, { observer: factory, threads: 1 });
        const elements = await calibrate(model, spec, { observer: elementsOnly(factory), threads: 1 });
        expect(summarised.toJSON(), `${name} ${factory.kind}`).toEqual(elements.toJSON());
      }
    }
  });

  it('3. a batch the histogram cannot bin exactly (all zeros) is observed from its elements, with the same result', async () => {
    const rows = [
      [-1, -2, -3, -4, -5, -6, -7, -8],
      [0.5, -1, 2, -0.25, 3, 0, 1e-3, -7],
    ];
    const summarised = await calibrate(reluModel(), source(rows), { observer: mseObserverFactory, threads: 1 });
    const elements = await calibrate(reluModel(), source(rows), { observer: elementsOnly(mseObserverFactory), threads: 1 });
    expect(summarised.toJSON()).toEqual(elements.toJSON());
  });

  it('4. NaN reaching a histogram names the sample and the tensor, as observing the elements does', async () => {
    const rows = [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, NaN, 4, 5, 6, 7, 8]];
    await expect(calibrate(reluModel(), source(rows), { observer: mseObserverFactory, threads: 1 })).rejects.toThrow(
      /sample row1: tensor 'h' contains NaN \(first at flat index 2\)/,
    );
  });
});
