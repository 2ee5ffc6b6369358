import { createQuantkit } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { marchNashHPlugin } from './index.js';

describe('march-nash-h plugin', () => {
  it('registers the nash-h march with its version and float32 GEMM outputs', () => {
    const quantkit = createQuantkit({ plugins: [marchNashHPlugin] });
    const march = quantkit.march('nash-h');
    expect(march.capabilities.gemmOutputs).toContain('float32');
    expect(march.capabilities.gemmOutputs).toContain('int32');
    expect(marchNashHPlugin.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('registers float-output and its own fold / pass-through passes under names that do not clash with nash-m', () => {
    const pipeline = createQuantkit({ plugins: [marchNashHPlugin] }).pipeline('convert');
    expect(pipeline.describe()).toEqual(['float-output', 'nash-h-fold-rescale-into-gemm', 'nash-h-integer-pass-through']);
  });
});
