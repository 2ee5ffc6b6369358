import { createQuantkit } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { observersPlugin } from './index.js';

describe('observers plugin', () => {
  it('registers the minmax and mse observer factories', () => {
    const quantkit = createQuantkit({ plugins: [observersPlugin] });
    expect(quantkit.observers().map((o) => o.kind).sort()).toEqual(['minmax', 'mse']);
    const observer = quantkit.observer('minmax').create({ dtype: 'qint8', granularity: { kind: 'per-tensor' } });
    observer.observe(Float32Array.of(-2, 1), [2]);
    expect(observer.qparams().scale[0]).toBeCloseTo(2 / 127.5, 7);
  });
});
