import { describe, expect, it } from 'vitest';
import { isGemmLike, opTrait } from './op-traits.js';

describe('opTrait', () => {
  it('classifies standard ops by trait', () => {
    expect(['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].map((op) => opTrait(op))).toEqual(['gemm', 'gemm', 'gemm', 'gemm']);
    expect(opTrait('Sigmoid')).toBe('elementwise');
    expect(opTrait('Reshape')).toBe('passthrough');
    expect(opTrait('Shape')).toBe('shape');
  });

  it("treats 'ai.onnx' like the default domain", () => {
    expect(opTrait('Relu', 'ai.onnx')).toBe('elementwise');
    expect(isGemmLike('Conv', 'ai.onnx')).toBe(true);
  });

  it('gives no trait to ops no march handles and to other domains', () => {
    expect(opTrait('NonMaxSuppression')).toBeUndefined();
    expect(opTrait('Conv', 'com.microsoft')).toBeUndefined();
    expect(isGemmLike('Conv', 'com.microsoft')).toBe(false);
    expect(opTrait('toString')).toBeUndefined();
    expect(opTrait('constructor')).toBeUndefined();
  });
});
