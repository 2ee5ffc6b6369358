import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { nodeTrait } from '../ops/op-traits.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';
import type { NpyArray } from '../data/npy.js';
import type { IntegerDtype } from './integer-ops.js';
import { ORT_INTEGER_GAPS } from './ort-support.js';

/**
 * Probes which pass-through ops onnxruntime runs on int8 / int16 / int32, and checks ORT_INTEGER_GAPS against it:
 * an op runs natively exactly when the table lists no gap, and a listed carrier dtype runs.
 */

type Probe = { dims: number[]; inputs?: number; constants?: Tensor[]; attributes?: Record<string, number | number[] | string>; outputs?: number };
const int64 = (values: number[]) => Tensor.fromArray(BigInt64Array.from(values.map(BigInt)), [values.length]);

const PROBES: Record<string, Probe> = {
  Concat: { dims: [2, 3], inputs: 2, attributes: { axis: 1 } },
  DepthToSpace: { dims: [1, 4, 2, 2], attributes: { blocksize: 2 } },
  Expand: { dims: [2, 1], constants: [int64([2, 3])] },
  Flatten: { dims: [2, 3, 4], attributes: { axis: 1 } },
  Gather: { dims: [2, 3], constants: [int64([0, 2])], attributes: { axis: 1 } },
  GlobalMaxPool: { dims: [1, 2, 3, 3] },
  Identity: { dims: [2, 3] },
  MaxPool: { dims: [1, 2, 4, 4], attributes: { kernel_shape: [2, 2] } },
  Pad: { dims: [1, 2, 3, 3], constants: [int64([0, 0, 1, 1, 0, 0, 1, 1])] },
  Reshape: { dims: [2, 3, 4], constants: [int64([6, 4])] },
  Resize: {
    dims: [1, 1, 2, 2],
    constants: [Tensor.fromArray(new Float32Array(0), [0]), Tensor.fromArray(Float32Array.of(1, 1, 2, 2), [4])],
    attributes: { mode: 'nearest' },
  },
  Slice: { dims: [2, 3, 4], constants: [int64([1]), int64([3]), int64([2])] },
  SpaceToDepth: { dims: [1, 1, 4, 4], attributes: { blocksize: 2 } },
  Split: { dims: [2, 4], constants: [int64([2, 2])], attributes: { axis: 1 }, outputs: 2 },
  Squeeze: { dims: [2, 1, 4], constants: [int64([1])] },
  Tile: { dims: [2, 3], constants: [int64([2, 1])] },
  Transpose: { dims: [2, 3, 4], attributes: { perm: [2, 0, 1] } },
  Unsqueeze: { dims: [2, 3], constants: [int64([0])] },
};

const DTYPES = { int8: DataType.INT8, int16: DataType.INT16, int32: DataType.INT32, float32: DataType.FLOAT, float64: DataType.DOUBLE };
type ProbeDtype = keyof typeof DTYPES;

function feed(dtype: ProbeDtype, dims: number[]): NpyArray {
  const size = dims.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size }, (_, i) => ((i * 7) % 23) - 11);
  switch (dtype) {
    case 'int8':
      return { dtype, shape: dims, data: Int8Array.from(values) };
    case 'int16':
      return { dtype, shape: dims, data: Int16Array.from(values) };
    case 'int32':
      return { dtype, shape: dims, data: Int32Array.from(values) };
    case 'float32':
      return { dtype, shape: dims, data: Float32Array.from(values) };
    case 'float64':
      return { dtype, shape: dims, data: Float64Array.from(values) };
  }
}

async function runs(op: string, dtype: ProbeDtype): Promise<boolean> {
  const probe = PROBES[op]!;
  const b = new GraphBuilder(`${op}_${dtype}`);
  const inputs = Array.from({ length: probe.inputs ?? 1 }, (_, i) => b.input(`x${i}`, DTYPES[dtype], probe.dims));
  const constants = (probe.constants ?? []).map((tensor, i) => b.initializer(`c${i}`, tensor));
  const outputs = b.node(op, [...inputs, ...constants], { attributes: probe.attributes, outputs: probe.outputs ?? 1 });
  for (const output of outputs) b.output(output);
  try {
    const session = await createSession(b.model({ '': 21 }), { threads: 1 });
    await runSession(session, new Map(inputs.map((input) => [input.name, feed(dtype, probe.dims)])));
    await releaseSession(session);
    return true;
  } catch {
    return false;
  }
}

describe('onnxruntime pass-through kernels on integer dtypes (ORT_INTEGER_GAPS)', () => {
  it('probes every pass-through op', () => {
    for (const [op, probe] of Object.entries(PROBES)) {
      const mode = probe.attributes?.mode;
      expect(nodeTrait({ opType: op, domain: '', attribute: (n) => (n === 'mode' && mode ? { asString: () => String(mode) } : undefined) })).toBe('passthrough');
    }
    for (const op of Object.keys(ORT_INTEGER_GAPS)) expect(PROBES[op]).toBeDefined();
  });

  for (const op of Object.keys(PROBES)) {
    it(`${op}: runs natively exactly where no gap is listed, and in the listed carrier elsewhere`, async () => {
      for (const dtype of ['int8', 'int16', 'int32'] as IntegerDtype[]) {
        const carrier = ORT_INTEGER_GAPS[op]?.[dtype];
        expect({ dtype, native: await runs(op, dtype) }).toEqual({ dtype, native: carrier === undefined });
        if (carrier === 'float32' || carrier === 'float64') {
          expect({ dtype, carrier, runs: await runs(op, carrier) }).toEqual({ dtype, carrier, runs: true });
        }
        if (carrier === 'none') expect(await runs(op, 'float64')).toBe(false);
      }
    });
  }
});
