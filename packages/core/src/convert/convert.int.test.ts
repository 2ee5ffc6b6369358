import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marchNashHPlugin } from '@quantkit/march-nash-h';
import { marchNashMPlugin } from '@quantkit/march-nash-m';
import { minMaxObserverFactory } from '@quantkit/observers';
import { outputPrecisionPlugin } from '@quantkit/passes-output-precision';
import { afterAll, describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { parseNpy } from '../data/npy.js';
import { createQuantkit } from '../di/create-quantkit.js';
import { calibrateModel } from '../flow/calibrate-model.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { lowerToStandard } from '../integer/lower.js';
import { compareTensors } from '../metrics/compare-tensors.js';
import { saveModel } from '../onnx/files.js';
import { createSession, releaseSession, runSession, type GraphOptimizationLevel } from '../runtime/ort.js';
import { accScale, constDq, graphText, ints, qdq } from './__fixtures__/qdq-graphs.js';
import { convert } from './convert.js';
import { floatsAttribute, isQuantkitNode, stringAttribute } from './integer-nodes.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'quantkit-convert-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const quantkit = createQuantkit({ plugins: [outputPrecisionPlugin, marchNashMPlugin, marchNashHPlugin] });
const calibrations = new Map<string, Promise<Model>>();

/** qat.onnx of a fixture model, through the real flow (prepare with the output-precision passes, MinMax). */
function qat(name: string, template: 'int8' | 'int16'): Promise<Model> {
  const key = `${name}/${template}`;
  if (!calibrations.has(key)) {
    const calib = name === 'fpn_reuse' ? 'fpn_reuse' : 'seed';
    calibrations.set(
      key,
      calibrateModel({
        modelPath: join(fixtures, 'models', name, 'model.onnx'),
        data: { kind: 'dir', path: join(fixtures, 'calib', calib) },
        template,
        observer: minMaxObserverFactory,
        pipeline: quantkit.pipeline('prepare'),
        workers: 1,
        version: '0.0.0-test',
      }).then((result) => result.qat),
    );
  }
  return calibrations.get(key)!;
}

async function converted(name: string, template: 'int8' | 'int16', march: 'nash-m' | 'nash-h', integerConv = false) {
  return convert(await qat(name, template), { march: quantkit.march(march), pipeline: quantkit.pipeline('convert'), integerConv });
}

const node = (model: Model, name: string): Node => {
  const found = model.graph.nodes().find((n) => n.name === name);
  if (!found) throw new Error(`no node ${name}`);
  return found;
};
const readers = (node: Node) => node.outputs[0]!.uses().map((u) => u.node);

async function outputs(model: Model, feeds: Map<string, NpyArray>, level: GraphOptimizationLevel) {
  const session = await createSession(model, { threads: 1, graphOptimizationLevel: level });
  try {
    return await runSession(session, feeds);
  } finally {
    await releaseSession(session);
  }
}

/**
 * SQNR of the QDQ simulation and of the integer model (lowered to standard ops) against PyTorch's float output, and
 * the fraction of integer outputs within one LSB (max|QDQ output| / 32767 for these high-precision outputs) of the
 * QDQ simulation, on the fixture's first calibration input.
 */
async function precision(name: string, qdq: Model, integer: Model) {
  const calib = name === 'fpn_reuse' ? 'fpn_reuse' : 'seed';
  const input = parseNpy(readFileSync(join(fixtures, 'calib', calib, 'input_000.npy')), 'input_000.npy');
  const feeds = new Map([['input', input]]);
  // 'basic' keeps onnxruntime from rewriting the QDQ simulation into its own quantized kernels.
  const simulated = await outputs(qdq, feeds, 'basic');
  const computed = await outputs(lowerToStandard(integer), feeds, 'basic');
  const result: Record<string, { qdq: number; integer: number; lsbAgreement: number }> = {};
  for (const [output, sim] of simulated) {
    const reference = parseNpy(readFileSync(join(fixtures, 'models', name, 'reference', `float_${output}.npy`)), output).data as Float32Array;
    const q = sim.data as Float32Array;
    const i = computed.get(output)!.data as Float32Array;
    const lsb = q.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 32767;
    result[output] = {
      qdq: compareTensors(reference, q).sqnrDb,
      integer: compareTensors(reference, i).sqnrDb,
      lsbAgreement: i.filter((v, k) => Math.abs(v - q[k]!) <= lsb).length / i.length,
    };
  }
  return result;
}

describe('convert on the seed models', () => {
  it.each(['int8', 'int16'] as const)('seed_small_single, nash-m (%s): linear3 emits int32 and a Dequantize gives z', async (template) => {
    const { model, fallback } = await converted('seed_small_single', template, 'nash-m');
    expect(fallback).toEqual([]);
    const linear3 = node(model, '/linear3/MatMul');
    expect([linear3.domain, stringAttribute(linear3, 'out_dtype')]).toEqual(['quantkit', 'int32']);
    const [dequantize] = readers(linear3);
    expect(readers(linear3)).toHaveLength(1);
    expect(isQuantkitNode(dequantize, 'Dequantize')).toBe(true);
    expect(dequantize!.outputs[0]!.name).toBe('z');
    expect(model.graph.outputs.map((v) => v.name)).toEqual(['z']);
    expect(stringAttribute(dequantize!, 'unit')).toBe('cpu');
    // The other GEMMs requantize in their output stage.
    expect(stringAttribute(node(model, '/linear1/MatMul'), 'out_dtype')).toBe(template);
    expect(stringAttribute(node(model, '/linear2/MatMul'), 'out_dtype')).toBe(template);

    const { z } = await precision('seed_small_single', await qat('seed_small_single', template), model);
    expect(Math.abs(z!.integer - z!.qdq)).toBeLessThan(0.5);
    expect(z!.lsbAgreement).toBeGreaterThanOrEqual(0.999);
  });

  it.each(['int8', 'int16'] as const)(
    'seed_small_reuse, nash-m (%s): linear2 emits int32, y = its Dequantize, linear3 reads its Rescale',
    async (template) => {
      const { model } = await converted('seed_small_reuse', template, 'nash-m');
      const linear2 = node(model, '/linear2/MatMul');
      expect(stringAttribute(linear2, 'out_dtype')).toBe('int32');
      const uses = readers(linear2);
      expect(uses.map((n) => n.opType).sort()).toEqual(['Dequantize', 'Rescale']);
      const dequantize = uses.find((n) => n.opType === 'Dequantize')!;
      const rescale = uses.find((n) => n.opType === 'Rescale')!;
      expect(dequantize.outputs[0]!.name).toBe('y');
      expect(stringAttribute(rescale, 'out_dtype')).toBe(template);
      expect(node(model, '/linear3/MatMul').inputs[0]).toBe(rescale.outputs[0]);
      const pairs = model.graph
        .nodes()
        .filter((n) => isQuantkitNode(n, 'Quantize') && isQuantkitNode(n.inputs[0]!.producer(), 'Dequantize'));
      expect(pairs).toEqual([]);
      expect(stringAttribute(node(model, '/linear3/MatMul'), 'out_dtype')).toBe('int32');

      const result = await precision('seed_small_reuse', await qat('seed_small_reuse', template), model);
      for (const output of ['y', 'z']) {
        expect(Math.abs(result[output]!.integer - result[output]!.qdq)).toBeLessThan(0.5);
        expect(result[output]!.lsbAgreement).toBeGreaterThanOrEqual(0.999);
      }
    },
  );

  it('seed_small_reuse, nash-h: linear2 emits float32 y and a VPU Quantize feeds linear3; it runs', async () => {
    const { model } = await converted('seed_small_reuse', 'int16', 'nash-h');
    const linear2 = node(model, '/linear2/MatMul');
    expect(stringAttribute(linear2, 'out_dtype')).toBe('float32');
    expect(linear2.outputs[0]!.name).toBe('y');
    const [quantize] = readers(linear2);
    expect(readers(linear2)).toHaveLength(1);
    expect([quantize!.opType, stringAttribute(quantize!, 'unit'), stringAttribute(quantize!, 'dtype')]).toEqual(['Quantize', 'vpu', 'int16']);
    expect(node(model, '/linear3/MatMul').inputs[0]).toBe(quantize!.outputs[0]);
    expect(stringAttribute(node(model, '/linear3/MatMul'), 'out_dtype')).toBe('float32');
    expect(model.graph.nodes().filter((n) => n.opType === 'Dequantize' && readers(n).length === 0 && !n.outputs[0]!.isGraphOutput())).toEqual([]);
    const result = await precision('seed_small_reuse', await qat('seed_small_reuse', 'int16'), model);
    for (const output of ['y', 'z']) expect(Math.abs(result[output]!.integer - result[output]!.qdq)).toBeLessThan(0.5);
  });

  it('seed_small_reuse, nash-h with integerConv: the graph matches nash-m’s, op for op and attribute for attribute', async () => {
    const h = await converted('seed_small_reuse', 'int16', 'nash-h', true);
    const m = await converted('seed_small_reuse', 'int16', 'nash-m');
    expect(graphText(h.model)).toEqual(graphText(m.model));
    expect(h.timings.map((t) => t.pass)).toContain('float-output');
  });
});

describe('convert on fpn_reuse', () => {
  it.each(['nash-m', 'nash-h'] as const)('%s: p1 / p2 are reused outputs, head is high precision; it runs', async (march) => {
    const { model, fallback } = await converted('fpn_reuse', 'int8', march);
    expect(fallback).toEqual([]);
    const byOutput = (name: string) => model.graph.outputs.find((v) => v.name === name)!.producer()!;
    if (march === 'nash-m') {
      for (const name of ['p1', 'p2', 'head']) {
        const dequantize = byOutput(name);
        expect(dequantize.opType).toBe('Dequantize');
        expect(stringAttribute(dequantize.inputs[0]!.producer()!, 'out_dtype')).toBe('int32');
      }
      const p1Conv = byOutput('p1').inputs[0]!.producer()!;
      expect(readers(p1Conv).map((n) => n.opType).sort()).toEqual(['Dequantize', 'Rescale']);
    } else {
      for (const name of ['p1', 'p2', 'head']) expect(stringAttribute(byOutput(name), 'out_dtype')).toBe('float32');
      expect(readers(byOutput('p1')).every((n) => n.opType === 'Quantize' && stringAttribute(n, 'unit') === 'vpu')).toBe(true);
    }
    const result = await precision('fpn_reuse', await qat('fpn_reuse', 'int8'), model);
    for (const output of ['p1', 'p2', 'head']) expect(Math.abs(result[output]!.integer - result[output]!.qdq)).toBeLessThan(0.5);
  });
});

describe('convert with an op no march lowers', () => {
  it('a Hardmax between two MatMuls converts; it is listed as a fallback and the model runs', async () => {
    const b = new GraphBuilder('hardmax');
    const input = b.input('input', DataType.FLOAT, [2, 100, 256]);
    const w1 = b.initializer('w1', Tensor.fromArray(Float32Array.from({ length: 256 * 16 }, (_, i) => Math.sin(i) / 16), [256, 16]));
    const w2 = b.initializer('w2', Tensor.fromArray(Float32Array.from({ length: 16 * 4 }, (_, i) => Math.cos(i) / 4), [16, 4]));
    const [h] = b.node('MatMul', [input, w1], { name: 'mm1' });
    const [hard] = b.node('Hardmax', [h!], { name: 'hardmax', attributes: { axis: -1 } });
    const [out] = b.node('MatMul', [hard!, w2], { name: 'mm2', outputs: ['out'] });
    b.output(out!, DataType.FLOAT);
    const path = join(work, 'hardmax.onnx');
    saveModel(b.model({ '': 17 }, 8), path);
    const qdq = await calibrateModel({
      modelPath: path,
      data: { kind: 'dir', path: join(fixtures, 'calib', 'seed') },
      template: 'int8',
      observer: minMaxObserverFactory,
      pipeline: quantkit.pipeline('prepare'),
      workers: 1,
      version: '0.0.0-test',
    });
    const { model, fallback, diagnostics } = await convert(qdq.qat, {
      march: quantkit.march('nash-m'),
      pipeline: quantkit.pipeline('convert'),
    });
    expect(fallback).toEqual([{ node: 'hardmax', opType: 'Hardmax', reason: 'no march lowers Hardmax' }]);
    expect(diagnostics[0]).toMatchObject({ pass: 'lower-qdq', level: 'warning', node: 'hardmax' });
    expect(node(model, 'hardmax').domain).toBe('');
    expect(node(model, 'mm1').domain).toBe('quantkit');
    expect(node(model, 'mm2').domain).toBe('quantkit');
    const feeds = new Map([['input', parseNpy(readFileSync(join(fixtures, 'calib', 'seed', 'input_000.npy')), 'x')]]);
    const simulated = (await outputs(qdq.qat, feeds, 'basic')).get('out')!.data as Float32Array;
    const computed = (await outputs(lowerToStandard(model), feeds, 'basic')).get('out')!.data as Float32Array;
    expect(compareTensors(simulated, computed).sqnrDb).toBeGreaterThan(40);
    expect(floatsAttribute(node(model, 'mm2'), 'w_scale')).toHaveLength(4);
  });
});

describe('convert: a GEMM group with an epilogue', () => {
  /** Conv (int32 bias) → chain → Q/DQ → Sigmoid → output, written by hand as a QDQ model. */
  function group(chain: (b: GraphBuilder, x: Value) => Value): Model {
    const b = new GraphBuilder('group');
    const input = b.input('input', DataType.FLOAT, [1, 2, 4, 4]);
    const x = qdq(b, input, 0.02);
    const wScales = [0.01, 0.02, 0.03];
    const w = constDq(b, 'w', ints(Int8Array, 3 * 2 * 9, 127), [3, 2, 3, 3], wScales, 0);
    const bias = constDq(b, 'b', new Int32Array([100, -200, 300]), [3], wScales.map((s) => accScale(0.02, s)), 0);
    const [conv] = b.node('Conv', [x, w, bias], { name: 'conv', attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
    const [sigmoid] = b.node('Sigmoid', [qdq(b, chain(b, conv!), 0.05, 'int8', 'y')], { name: 'sigmoid', outputs: ['output'] });
    b.output(sigmoid!, DataType.FLOAT);
    return b.model({ '': 21 });
  }
  const clipThenRelu = (b: GraphBuilder, x: Value) => {
    const [clipped] = b.node('Clip', [x, b.initializer('lo', new Float32Array([-2]), []), b.initializer('hi', new Float32Array([2]), [])], { name: 'clip' });
    return b.node('Relu', [clipped!], { name: 'relu' })[0]!;
  };

  for (const march of ['nash-m', 'nash-h'] as const) {
    it(`${march}: a chain of only Clip and Relu folds into the GEMM's int8 output stage (no Rescale, no Epilogue)`, async () => {
      const { model } = await convert(group(clipThenRelu), { march: quantkit.march(march), pipeline: quantkit.pipeline('convert') });
      const conv = node(model, 'conv');
      expect(stringAttribute(conv, 'out_dtype')).toBe('int8');
      expect(conv.attribute('clip_min')?.asNumber()).toBe(0);
      expect(conv.attribute('clip_max')?.asNumber()).toBe(40);
      expect(model.graph.nodes().filter((n) => n.opType === 'Rescale' || n.opType === 'Epilogue')).toEqual([]);
    });

    it(`${march}: HardSwish after the conv is one Epilogue on its int32 accumulator`, async () => {
      const hardSwish = (b: GraphBuilder, x: Value) => b.node('HardSwish', [x], { name: 'hs' })[0]!;
      const { model } = await convert(group(hardSwish), { march: quantkit.march(march), pipeline: quantkit.pipeline('convert') });
      expect(stringAttribute(node(model, 'conv'), 'out_dtype')).toBe('int32');
      const epilogue = node(model, 'conv').outputs[0]!.uses()[0]!.node;
      expect(isQuantkitNode(epilogue, 'Epilogue')).toBe(true);
      expect(stringAttribute(epilogue, 'steps')).toBe('HardSwish');
    });
  }
});
