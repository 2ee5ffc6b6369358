import { createQuantkit, GraphBuilder, DataType, type PassContext } from '@quantkit/core';
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

  it('registers its convert passes, ordered after dequant-quant-to-rescale, acting for nash-m only', () => {
    const pipeline = createQuantkit({ plugins: [marchNashMPlugin] }).pipeline('convert');
    expect(pipeline.describe()).toEqual(['nash-m-fold-rescale-into-gemm', 'nash-m-integer-pass-through']);
    expect(pipeline.passes[0]!.info.after).toEqual(['dequant-quant-to-rescale']);
    const b = new GraphBuilder();
    b.output(b.node('Relu', [b.input('x', DataType.FLOAT, [2])])[0]!);
    const other: PassContext = { march: 'nash-h', options: {}, diagnose: () => undefined };
    for (const pass of pipeline.passes) expect(pass.run(b.model(), other)).toMatchObject({ modified: false });
  });
});
