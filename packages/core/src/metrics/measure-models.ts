import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { Model } from '../ir/model.js';
import { runnableModel } from '../integer/runnable-model.js';
import { decodeModel } from '../onnx/decode.js';
import { exposeValues, floatData, readFloat, type ExposedModel } from '../runtime/expose-values.js';
import {
  createSession,
  releaseSession,
  runSession,
  type GraphOptimizationLevel,
  type OutputTensor,
} from '../runtime/ort.js';
import { compareTensors, type TensorMetrics } from './compare-tensors.js';

/** A quantized tensor of the test model and the float tensor of the reference model it stands for. */
export interface TensorTwin {
  float: string;
  quantized: string;
}

export interface LayerMetrics extends TensorMetrics {
  /** The tensor's name in the float model. */
  tensor: string;
  float: string;
  quantized: string;
}

export interface PrecisionReport {
  /** Per graph output of the reference model, in graph order. */
  outputs: Record<string, TensorMetrics>;
  /** Per twin, worst (lowest SQNR) first; NaN (non-finite data) counts as worst. */
  layers: LayerMetrics[];
}

export interface MeasureOptions {
  twins?: readonly TensorTwin[];
  threads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** How errors name the models; default 'the reference model' / 'the test model'. */
  referenceName?: string;
  testName?: string;
}

interface Run {
  outputs: Map<string, OutputTensor>;
  exposed: ExposedModel;
  graphOutputs: string[];
}

async function runExposed(
  model: Model | Uint8Array,
  names: readonly string[],
  feeds: ReadonlyMap<string, NpyArray>,
  what: string,
  options: MeasureOptions,
): Promise<Run> {
  // A quantized.onnx runs through the lowering report.json uses (names kept); other models run as they are.
  const ir = runnableModel(model instanceof Model ? model : decodeModel(model));
  const exposed = exposeValues(ir, names, what);
  const graphOutputs = ir.graph.outputs.map((value) => value.name);
  const session = await createSession(exposed.model, {
    threads: options.threads,
    graphOptimizationLevel: options.graphOptimizationLevel,
    name: what,
  });
  try {
    const fetch = [...new Set([...graphOutputs, ...exposed.fetch])];
    return { outputs: await runSession(session, feeds, fetch), exposed, graphOutputs };
  } finally {
    await releaseSession(session);
  }
}

function bySqnr(a: LayerMetrics, b: LayerMetrics): number {
  const na = Number.isNaN(a.sqnrDb);
  const nb = Number.isNaN(b.sqnrDb);
  if (na !== nb) return na ? -1 : 1;
  if (!na && a.sqnrDb !== b.sqnrDb) return a.sqnrDb - b.sqnrDb;
  return a.tensor < b.tensor ? -1 : a.tensor > b.tensor ? 1 : 0;
}

/**
 * Runs `reference` (the float model) and `test` (e.g. qat.onnx) on the same feeds and compares them:
 * 1. every graph output of the reference with the test model's output of the same name;
 * 2. each twin: the float tensor, exposed as an extra output of a copy of the reference, with the quantized
 *    tensor, exposed likewise in the test model (a twin that is a graph input is read from the feeds).
 * Neither model is modified.
 */
export async function measureModels(
  reference: Model | Uint8Array,
  test: Model | Uint8Array,
  feeds: ReadonlyMap<string, NpyArray>,
  options: MeasureOptions = {},
): Promise<PrecisionReport> {
  const twins = options.twins ?? [];
  const referenceName = options.referenceName ?? 'the reference model';
  const testName = options.testName ?? 'the test model';
  const ref = await runExposed(reference, twins.map((t) => t.float), feeds, referenceName, options);
  const out = await runExposed(test, twins.map((t) => t.quantized), feeds, testName, options);

  const outputs: Record<string, TensorMetrics> = {};
  for (const name of ref.graphOutputs) {
    const expected = ref.outputs.get(name)!;
    const actual = out.outputs.get(name);
    if (actual === undefined) {
      throw new QuantkitError('QK_GRAPH_INVALID', `${testName} has no output '${name}', which ${referenceName} has`, {
        subject: name,
        hint: 'Compare models with the same interface: quantization must keep the output names.',
      });
    }
    outputs[name] = compareTensors(
      floatData(name, expected.dtype, expected.data),
      floatData(name, actual.dtype, actual.data),
      `output '${name}'`,
    );
  }

  const layers = twins.map(({ float, quantized }) => {
    const a = readFloat(float, ref.exposed.sources.get(float)!, ref.outputs, feeds);
    const b = readFloat(quantized, out.exposed.sources.get(quantized)!, out.outputs, feeds);
    return { tensor: float, float, quantized, ...compareTensors(a.data, b.data, `tensor '${float}'`) };
  });
  layers.sort(bySqnr);
  return { outputs, layers };
}
