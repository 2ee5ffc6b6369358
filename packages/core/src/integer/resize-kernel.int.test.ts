import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { Xoshiro128 } from '../data/random.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';
import { interpret } from './interpreter.js';

/** The interpreter's Resize against onnxruntime's: nearest bit for bit on int8 codes, linear to float32 rounding. */

type Case = { mode: string; transform: string; nearestMode?: string; scales?: number[]; sizes?: number[] };

async function compare(dtype: 'int8' | 'float32', dims: number[], c: Case): Promise<{ want: NpyArray; got: NpyArray }> {
  const b = new GraphBuilder('resize');
  const x = b.input('x', dtype === 'int8' ? DataType.INT8 : DataType.FLOAT, dims);
  const roi = b.initializer('roi', Tensor.fromArray(new Float32Array(0), [0]));
  const scales = b.initializer('scales', Tensor.fromArray(Float32Array.from(c.scales ?? []), [c.scales?.length ?? 0]));
  const inputs = [x, roi, scales];
  if (c.sizes) inputs.push(b.initializer('sizes', Tensor.fromArray(BigInt64Array.from(c.sizes.map(BigInt)), [c.sizes.length])));
  const attributes: Record<string, string> = { mode: c.mode, coordinate_transformation_mode: c.transform };
  if (c.nearestMode) attributes.nearest_mode = c.nearestMode;
  const [y] = b.node('Resize', inputs, { name: 'resize', attributes });
  b.output(y!);
  const model = b.model({ '': 21 });
  const rng = new Xoshiro128(3);
  const size = dims.reduce((p, d) => p * d, 1);
  const data =
    dtype === 'int8'
      ? Int8Array.from({ length: size }, () => (rng.nextUint32() % 256) - 128)
      : Float32Array.from({ length: size }, () => (rng.nextUint32() % 2001) / 100 - 10);
  const feeds = new Map<string, NpyArray>([['x', { dtype, shape: dims, data } as NpyArray]]);
  const want = [...interpret(model, feeds).values()][0]!;
  const session = await createSession(model, { threads: 1 });
  try {
    const t = [...(await runSession(session, feeds)).values()][0]!;
    return { want, got: { dtype: t.dtype, shape: [...t.dims], data: t.data } as NpyArray };
  } finally {
    await releaseSession(session);
  }
}

describe('resizeKernel', () => {
  const nearestCases: Case[] = [
    { mode: 'nearest', transform: 'asymmetric', nearestMode: 'floor', scales: [1, 1, 2, 2] },
    { mode: 'nearest', transform: 'half_pixel', scales: [1, 1, 2, 3] },
    { mode: 'nearest', transform: 'half_pixel', nearestMode: 'round_prefer_ceil', sizes: [1, 2, 7, 5] },
    { mode: 'nearest', transform: 'align_corners', nearestMode: 'ceil', sizes: [1, 2, 9, 4] },
    { mode: 'nearest', transform: 'pytorch_half_pixel', scales: [1, 1, 0.5, 1.5] },
  ];
  for (const c of nearestCases) {
    it(`1. nearest (${c.transform}, ${c.nearestMode ?? 'round_prefer_floor'}) on int8 codes is bit-exact`, async () => {
      const { want, got } = await compare('int8', [1, 2, 4, 3], c);
      expect(want.dtype).toBe('int8');
      expect(want.shape).toEqual(got.shape);
      expect([...(want.data as Int8Array)]).toEqual([...(got.data as Int8Array)]);
    });
  }
  for (const c of [
    { mode: 'linear', transform: 'half_pixel', scales: [1, 1, 2, 2] },
    { mode: 'linear', transform: 'align_corners', sizes: [1, 2, 7, 5] },
    { mode: 'linear', transform: 'asymmetric', scales: [1, 1, 1.5, 2] },
  ] as Case[]) {
    it(`2. linear (${c.transform}) on float32 agrees to float32 rounding`, async () => {
      const { want, got } = await compare('float32', [1, 2, 4, 3], c);
      expect(want.shape).toEqual(got.shape);
      const worst = Math.max(...[...(want.data as Float32Array)].map((v, i) => Math.abs(v - (got.data as Float32Array)[i]!)));
      expect(worst).toBeLessThan(1e-5);
    });
  }
});
