import { createQuantkit } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { marchNashMPlugin } from './index.js';

describe('march-nash-m plugin', () => {
  it('registers the nash-m march with its version and int32 (not float32) GEMM outputs', () => {
    const quantkit = createQuantkit({ plugins: [marchNashMPlugin] });
    const march = quantkit.march('nash-m');
    expect(march.capabilities.gemmOutputs).toContain('int32');
    expect(march.capabilities.gemmOutputs).not.toContain('float32');
    expect(marchNashMPlugin.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
