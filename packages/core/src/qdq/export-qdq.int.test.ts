import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNpy, type NpyArray } from '../data/npy.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { encodeModel } from '../onnx/encode.js';
import { loadModel } from '../onnx/files.js';
import type { ActivationDtype } from '../prepare/quant-plan.js';
import { absMaxPerTensor } from '../quant/numerics.js';
import { attachPlan, gemmGroup, nodeNamed, qparamsFromAmax, quant, valueNamed } from './__fixtures__/plans.js';
import { exportQdq } from './export-qdq.js';
import { findQdqPairs } from './read-qdq.js';
import { prepare } from '../prepare/prepare.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const seedInput = parseNpy(readFileSync(`${fixtures}calib/seed/input_000.npy`));

/**
 * Runs a model on one input. 'basic' optimizations: above it onnxruntime fuses Q/DQ node units into integer
 * kernels (which round differently from the QDQ simulation) and, for int8 MatMul + Add on 3-D inputs, writes an
 * invalid QuantizeLinear of its own ('gemm_input_reshape_arg_q').
 */
async function run(model: Model, outputs: string[], input: NpyArray = seedInput): Promise<Map<string, Float32Array>> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(encodeModel(model), {
    interOpNumThreads: 1,
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'basic',
  });
  const feeds = { input: new ort.Tensor('float32', input.data as Float32Array, input.shape) };
  const results = await session.run(feeds, outputs);
  await session.release();
  return new Map(outputs.map((name) => [name, results[name]!.data as Float32Array]));
}

function sqnrDb(reference: Float32Array, actual: Float32Array): number {
  let signal = 0;
  let noise = 0;
  reference.forEach((r, i) => {
    signal += r * r;
    noise += (r - actual[i]!) ** 2;
  });
  return 10 * Math.log10(signal / noise);
}

/** A copy of the model that also outputs the named values. */
function withOutputs(model: Model, names: string[]): Model {
  const probe = cloneModel(model);
  const byName = probe.graph.valuesByName();
  for (const name of names)
    if (!probe.graph.outputs.some((o) => o.name === name)) probe.graph.addOutput(byName.get(name)!);
  return probe;
}

/** The float model's amax of each value, from one float run with those values as extra outputs. */
async function amaxOf(model: Model, values: Value[], input: NpyArray = seedInput): Promise<Map<string, number>> {
  const names = values.map((v) => v.name);
  const outputs = await run(withOutputs(model, names), names, input);
  return new Map(names.map((name) => [name, absMaxPerTensor(outputs.get(name)!)]));
}

/** seed_small_single with the plan prepare makes for it: three linears, z at high precision. */
async function seedSingle(dtype: ActivationDtype) {
  const model = await loadModel(`${fixtures}models/seed_small_single/model.onnx`);
  const groups = ['/linear1/MatMul', '/linear2/MatMul', '/linear3/MatMul'].map((n) => gemmGroup(nodeNamed(model, n)));
  const quantized = [
    'input',
    '/linear1/Add_output_0',
    '/layernorm/LayerNormalization_output_0',
    '/relu/Relu_output_0',
    '/linear2/Add_output_0',
  ].map((n) => valueNamed(model, n));
  attachPlan(model, {
    groups,
    activations: quantized.map((v) => quant(v, dtype)),
    highPrecision: [valueNamed(model, 'z')],
  });
  const amax = await amaxOf(model, quantized);
  const qparams = (value: Value) => {
    const a = amax.get(value.name);
    return a === undefined ? undefined : qparamsFromAmax(a, dtype);
  };
  return { model, qparams };
}

describe('exportQdq on seed_small_single', () => {
  const reference = parseNpy(readFileSync(`${fixtures}models/seed_small_single/reference/float_z.npy`))
    .data as Float32Array;

  it('int16 activations: runs in onnxruntime at opset 21, z close to the float reference', async () => {
    const { model, qparams } = await seedSingle('qint16');
    const { model: qat, twins } = exportQdq(model, qparams);
    expect(qat.opset).toBe(21);
    expect(qat.irVersion).toBeGreaterThanOrEqual(10);
    const outputs = await run(
      withOutputs(
        qat,
        twins.map((t) => t.quantized),
      ),
      ['z', ...twins.map((t) => t.quantized)],
    );
    const z = outputs.get('z')!;
    // Each twin pairs a quantized tensor with its float original: int16 per tensor keeps them very close.
    const floatTwins = await run(
      withOutputs(
        model,
        twins.map((t) => t.float),
      ),
      twins.map((t) => t.float),
    );
    expect(twins.map((t) => t.float)).toEqual([
      'input',
      '/linear1/Add_output_0',
      '/layernorm/LayerNormalization_output_0',
      '/relu/Relu_output_0',
      '/linear2/Add_output_0',
    ]);
    for (const twin of twins) {
      expect(sqnrDb(floatTwins.get(twin.float)!, outputs.get(twin.quantized)!), twin.float).toBeGreaterThan(40);
    }
    const sqnr = sqnrDb(reference, z);
    const floatRun = await run(model, ['z']);
    const weightOnly = await run(exportQdq(model, qparams, { weightsOnly: true }).model, ['z']);
    const floor = sqnrDb(reference, weightOnly.get('z')!);
    console.log(`seed_small_single int16: z SQNR ${sqnr.toFixed(2)} dB, weight-only floor ${floor.toFixed(2)} dB`);
    expect(sqnrDb(reference, floatRun.get('z')!)).toBeGreaterThan(80);
    expect(sqnr).toBeGreaterThan(35);
    // int16 activations add little to what the int8 weights cost.
    expect(sqnr).toBeGreaterThan(floor - 1.5);
    // The plan's z is high precision: its producer is the float Add, not a DequantizeLinear.
    const zValue = qat.graph.outputs.find((v) => v.name === 'z')!;
    expect(zValue.producer()?.opType).toBe('Add');
    const pairs = findQdqPairs(qat.graph);
    expect(pairs).toHaveLength(5);
    expect(new Set(pairs.map((p) => p.quantizeParams.dtype))).toEqual(new Set([5]));
  });

  it('int8 activations run too and lose more than int16', async () => {
    const int8 = await seedSingle('qint8');
    const int16 = await seedSingle('qint16');
    const z8 = (await run(exportQdq(int8.model, int8.qparams).model, ['z'])).get('z')!;
    const z16 = (await run(exportQdq(int16.model, int16.qparams).model, ['z'])).get('z')!;
    const s8 = sqnrDb(reference, z8);
    console.log(`seed_small_single int8: z SQNR ${s8.toFixed(2)} dB`);
    expect(s8).toBeGreaterThan(15);
    expect(s8).toBeLessThan(sqnrDb(reference, z16));
  });

  it('is deterministic: same inputs, same bytes', async () => {
    const { model, qparams } = await seedSingle('qint16');
    const a = encodeModel(exportQdq(model, qparams).model);
    const b = encodeModel(exportQdq(model, qparams).model);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});

describe('exportQdq on seed_small_reuse', () => {
  it('y stays float at the graph output, linear3 reads a quantized copy', async () => {
    const model = await loadModel(`${fixtures}models/seed_small_reuse/model.onnx`);
    const groups = ['/linear1/MatMul', '/linear2/MatMul', '/linear3/MatMul'].map((n) => gemmGroup(nodeNamed(model, n)));
    const y = valueNamed(model, 'y');
    const linear3 = nodeNamed(model, '/linear3/MatMul');
    const quantized = [
      'input',
      '/linear1/Add_output_0',
      '/layernorm/LayerNormalization_output_0',
      '/relu/Relu_output_0',
    ].map((n) => valueNamed(model, n));
    attachPlan(model, {
      groups,
      activations: [
        ...quantized.map((v) => quant(v, 'qint16')),
        quant(y, 'qint16', { uses: [{ node: linear3, index: 0 }] }),
      ],
      highPrecision: [y, valueNamed(model, 'z')],
    });
    const amax = await amaxOf(model, [...quantized, y]);
    const { model: qat, twins } = exportQdq(model, (v) => qparamsFromAmax(amax.get(v.name)!, 'qint16'));
    const outY = qat.graph.outputs.find((v) => v.name === 'y')!;
    expect(outY.producer()?.opType).toBe('Add');
    const mm3 = nodeNamed(qat, '/linear3/MatMul');
    expect(mm3.inputs[0]!.producer()?.opType).toBe('DequantizeLinear');
    expect(twins.at(-1)).toEqual({ float: 'y', quantized: mm3.inputs[0]!.name });
    const outputs = await run(qat, ['y', 'z']);
    const floatOutputs = await run(model, ['y', 'z']);
    for (const name of ['y', 'z']) {
      const sqnr = sqnrDb(floatOutputs.get(name)!, outputs.get(name)!);
      console.log(`seed_small_reuse int16 rescale: ${name} SQNR ${sqnr.toFixed(2)} dB`);
      expect(sqnr).toBeGreaterThan(35);
    }
  });
});

describe('exportQdq on fpn_reuse with the plan prepare() makes', () => {
  const input = parseNpy(readFileSync(`${fixtures}calib/fpn_reuse/input_000.npy`));
  const outputs = ['p1', 'p2', 'head'];
  const reference = new Map(
    outputs.map((name) => [
      name,
      parseNpy(readFileSync(`${fixtures}models/fpn_reuse/reference/float_${name}.npy`)).data as Float32Array,
    ]),
  );

  it.each(['int8', 'int16'] as const)(
    '%s: Conv weights per channel, runs, and int16 reaches the weight-only floor',
    async (template) => {
      const float = await loadModel(`${fixtures}models/fpn_reuse/model.onnx`);
      const { model, plan } = await prepare(float, { template });
      const roots = [...plan.activations.values()].filter((a) => !a.shareWith).map((a) => a.value);
      const amax = await amaxOf(model, roots, input);
      const qparams = (value: Value) => {
        const a = amax.get(value.name);
        return a === undefined ? undefined : qparamsFromAmax(a, plan.activations.get(value)!.dtype);
      };
      const { model: qat, twins } = exportQdq(model, qparams);
      expect(twins.length).toBe([...plan.activations.values()].length);
      const convs = qat.graph.nodes().filter((n) => n.opType === 'Conv');
      expect(convs.length).toBeGreaterThan(0);
      for (const conv of convs) {
        const weight = conv.inputs[1]!.producer()!;
        expect(weight.opType).toBe('DequantizeLinear');
        expect(weight.attribute('axis')!.asNumber()).toBe(0);
      }
      const quantized = await run(qat, outputs, input);
      const weightOnly = await run(exportQdq(model, qparams, { weightsOnly: true }).model, outputs, input);
      for (const name of outputs) {
        const sqnr = sqnrDb(reference.get(name)!, quantized.get(name)!);
        const floor = sqnrDb(reference.get(name)!, weightOnly.get(name)!);
        console.log(`fpn_reuse ${template}: ${name} SQNR ${sqnr.toFixed(2)} dB (weight-only ${floor.toFixed(2)} dB)`);
        expect(floor).toBeGreaterThan(35);
        expect(sqnr).toBeGreaterThan(template === 'int16' ? floor - 1.5 : 20);
      }
    },
  );
});
