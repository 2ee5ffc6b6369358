import { availableParallelism } from 'node:os';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { NpyArray, NpyDataTypes, NpyDtype } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { Model } from '../ir/model.js';
import { encodeModel } from '../onnx/encode.js';
import { externalFilesOf } from '../onnx/files.js';

/** The onnxruntime-node module, loaded on first use. */
export type Ort = typeof import('onnxruntime-node');

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'layout' | 'all';

export interface SessionOptions {
  /** intra-op threads; default: every core (`os.availableParallelism()`). */
  threads?: number;
  /** Default 'all', as onnxruntime's own default. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** How errors name the model (a file path, or 'reference model'); default: the graph name. */
  name?: string;
}

/** A session and the name its errors use. */
export interface Session {
  readonly ort: Ort;
  readonly inner: InferenceSession;
  readonly name: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

/** An output tensor copied out of onnxruntime; narrowing on `dtype` narrows `data`. */
export type OutputTensor = { [D in NpyDtype]: { dtype: D; dims: readonly number[]; data: NpyDataTypes[D] } }[NpyDtype];

let ortModule: Promise<Ort> | undefined;

/**
 * Imports onnxruntime-node on first use: loading core must stay cheap for commands that never run a model, and a
 * missing or broken native binary must be a clear error, not a crash at import time.
 */
export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').catch((cause: unknown) => {
    ortModule = undefined;
    throw new QuantkitError(
      'QK_UNSUPPORTED',
      `onnxruntime-node cannot be loaded, so quantkit cannot run models: ${(cause as Error).message}`,
      {
        cause,
        hint: 'Install it with `npm install onnxruntime-node@1.30.0` (offline: set ONNXRUNTIME_NODE_INSTALL=skip).',
      },
    );
  });
  return ortModule;
}

function modelName(model: Model | Uint8Array, name: string | undefined): string {
  if (name !== undefined) return name;
  return model instanceof Model && model.graph.name !== '' ? `model '${model.graph.name}'` : 'the model';
}

/** Wraps anything onnxruntime throws: its message is kept, and the error names the model. */
export function runtimeError(what: string, cause: unknown, hint?: string): QuantkitError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new QuantkitError('QK_RUNTIME', `${what}: onnxruntime says: ${message.trim()}`, {
    cause,
    hint: hint ?? 'Check that the model runs in onnxruntime (opset, op support, input shapes).',
  });
}

/**
 * A CPU session with one inter-op thread (nodes run in order; the intra-op pool does the parallel work) and
 * `threads` intra-op threads.
 */
export async function createSession(model: Model | Uint8Array, options: SessionOptions = {}): Promise<Session> {
  const ort = await loadOrt();
  const name = modelName(model, options.name);
  const threads = options.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) {
    throw new QuantkitError('QK_USAGE', `The number of threads must be a positive integer, got ${threads}.`, {
      hint: 'Give `threads` as 1 or more, or leave it out to use every core.',
    });
  }
  const bytes = model instanceof Model ? encodeModel(model) : model;
  // A model from bytes has no folder, so onnxruntime cannot open external data files itself: it gets their bytes,
  // the same ones the model's tensors are views of (read once).
  const externalData = model instanceof Model ? externalFilesOf(model).map((f) => ({ path: f.location, data: f.bytes() })) : [];
  let inner: InferenceSession;
  try {
    inner = await ort.InferenceSession.create(bytes, {
      ...(externalData.length > 0 ? { externalData } : {}),
      interOpNumThreads: 1,
      intraOpNumThreads: threads,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      executionMode: 'sequential',
      // Warnings (unused initializers and the like) are onnxruntime's business, not the user's: errors only.
      logSeverityLevel: 3,
    });
  } catch (cause) {
    throw runtimeError(`onnxruntime cannot load ${name}`, cause);
  }
  return { ort, inner, name, inputNames: inner.inputNames, outputNames: inner.outputNames };
}

/** Wraps an array as an onnxruntime tensor without copying it. */
export function toOrtTensor(ort: Ort, array: NpyArray): OrtTensor {
  return new ort.Tensor(array.dtype, array.data, array.shape);
}

const ORT_TYPES = new Set<string>([
  'float32',
  'float64',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
] satisfies NpyDtype[]);

/** The dtype, dims and data of an onnxruntime tensor (no copy); float16, string and 4-bit tensors are refused. */
export function fromOrtTensor(tensor: OrtTensor, name: string): OutputTensor {
  if (!ORT_TYPES.has(tensor.type)) {
    throw new QuantkitError('QK_UNSUPPORTED', `Tensor '${name}' is ${tensor.type}, which quantkit cannot read back`, {
      subject: name,
      hint: 'Cast it to float32 in the model.',
    });
  }
  return { dtype: tensor.type, dims: tensor.dims, data: tensor.data } as OutputTensor;
}

/** Converts an output to an `.npy`-style array (the same data, no copy). */
export function toNpyArray(output: OutputTensor): NpyArray {
  return { dtype: output.dtype, shape: [...output.dims], data: output.data } as NpyArray;
}

/**
 * Runs one inference. `outputNames` selects the outputs (default: all); onnxruntime then skips the work only
 * other outputs need. Errors name the session's model.
 */
export async function runSession(
  session: Session,
  feeds: ReadonlyMap<string, NpyArray>,
  outputNames: readonly string[] = session.outputNames,
): Promise<Map<string, OutputTensor>> {
  const ortFeeds: Record<string, OrtTensor> = {};
  for (const [name, array] of feeds) {
    try {
      ortFeeds[name] = toOrtTensor(session.ort, array);
    } catch (cause) {
      throw runtimeError(
        `onnxruntime cannot take the data of input '${name}' of ${session.name}`,
        cause,
        `Give '${name}' a supported dtype and exactly as many elements as its shape [${array.shape.join(', ')}] holds.`,
      );
    }
  }
  let results: InferenceSession.ReturnType;
  try {
    results = await session.inner.run(ortFeeds, outputNames as string[]);
  } catch (cause) {
    throw runtimeError(`onnxruntime failed to run ${session.name}`, cause);
  }
  const outputs = new Map<string, OutputTensor>();
  for (const name of outputNames) {
    const tensor = results[name];
    if (tensor === undefined) {
      throw new QuantkitError('QK_RUNTIME', `onnxruntime returned no output '${name}' for ${session.name}`, {
        subject: name,
      });
    }
    outputs.set(name, fromOrtTensor(tensor, name));
  }
  return outputs;
}

/** Releases the native session. */
export async function releaseSession(session: Session): Promise<void> {
  await session.inner.release();
}
