import { describe, expect, it } from 'vitest';
import { isQuantkitError, type QuantkitError } from '../errors/quantkit-error.js';
import { GraphBuilder } from '../ir/builder.js';
import { Tensor } from '../ir/tensor.js';
import { DataType } from '../ir/dtype.js';
import type { March } from '../march/march.js';
import { Pipeline } from '../pass/pass-manager.js';
import type { Pass, PassContext } from '../pass/pass.js';
import { linear, qdq, seedQdq } from './__fixtures__/qdq-graphs.js';
import { convert } from './convert.js';

const march = (
  gemmOutputs: March['capabilities']['gemmOutputs'],
  gemmInputs: March['capabilities']['gemmInputs'] = ['int8', 'int16'],
  gemmWeights: March['capabilities']['gemmWeights'] = ['int8'],
): March => ({
  name: 'test-march',
  summary: 'test',
  chips: 'test chip',
  capabilities: { gemmInputs, gemmWeights, gemmOutputs },
});

const empty = new Pipeline('convert-pipeline', 'convert', []);

async function errorOf(promise: Promise<unknown>): Promise<QuantkitError> {
  try {
    await promise;
  } catch (error) {
    if (isQuantkitError(error)) return error;
    throw error;
  }
  throw new Error('expected a QuantkitError');
}

describe('convert', () => {
  it('3. runs the pipeline with the march name and integerConv, and returns the fallbacks as diagnostics', async () => {
    const seen: unknown[] = [];
    const spy: Pass = {
      info: { name: 'spy', phase: 'convert', summary: 'records its context' },
      run(model, context: PassContext) {
        seen.push(context.march, context.options.integerConv);
        context.diagnose({ level: 'info', message: 'looked' });
        return { model, modified: false };
      },
    };
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [2, 4]), 0.01);
    const [hard] = b.node('Hardmax', [x], { name: 'hardmax' });
    b.output(linear(b, qdq(b, hard!, 0.01, 'int8', 'h'), { name: 'l', k: 4, n: 3, xScale: 0.01 }).out, DataType.FLOAT);
    const result = await convert(b.model(), {
      march: march(['int32']),
      pipeline: new Pipeline('convert-pipeline', 'convert', [spy]),
      integerConv: true,
    });
    expect(seen).toEqual(['test-march', true]);
    expect(result.fallback.map((f) => f.node)).toEqual(['hardmax']);
    expect(result.diagnostics).toEqual([
      {
        pass: 'lower-qdq',
        level: 'warning',
        node: 'hardmax',
        message: 'hardmax (Hardmax) stays float on the CPU: no march lowers Hardmax.',
      },
      { pass: 'spy', level: 'info', message: 'looked' },
    ]);
    expect(result.model.opsetImports.get('quantkit')).toBe(1);
    expect(result.timings.map((t) => t.pass)).toEqual(['spy']);
  });

  it('1. an asymmetric QDQ model is refused with QK_ASYMMETRIC_QDQ', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [4]);
    const s = b.initializer('s', new Float32Array([0.1]), []);
    const zp = b.initializer('zp', new Int8Array([3]), []);
    const [q] = b.node('QuantizeLinear', [x, s, zp], { name: 'q' });
    const [dq] = b.node('DequantizeLinear', [q!, s, zp], { name: 'dq' });
    b.output(dq!, DataType.FLOAT);
    const error = await errorOf(convert(b.model(), { march: march(['int32']), pipeline: empty }));
    expect(error.code).toBe('QK_ASYMMETRIC_QDQ');
    expect(error.message).toContain("'q'");
    expect(error.message).toContain('zero point 3');
  });

  it('1. a model without Q/DQ is refused: it is not a QDQ model', async () => {
    const b = new GraphBuilder();
    b.output(b.node('Relu', [b.input('x', DataType.FLOAT, [4])])[0]!, DataType.FLOAT);
    const error = await errorOf(convert(b.model(), { march: march(['int32']), pipeline: empty, name: 'float.onnx' }));
    expect(error.code).toBe('QK_UNSUPPORTED');
    expect(error.message).toContain('float.onnx has no QuantizeLinear / DequantizeLinear');
  });

  it('4. a GEMM output type the march lacks → QK_UNSUPPORTED naming the node', async () => {
    const error = await errorOf(convert(seedQdq('single'), { march: march(['int8', 'int16']), pipeline: empty }));
    expect(error.code).toBe('QK_UNSUPPORTED');
    expect(error.message).toContain("'/linear2/MatMul' (quantkit::MatMul) emits int32");
  });

  it('4. an activation type the march lacks → QK_UNSUPPORTED', async () => {
    const error = await errorOf(convert(seedQdq('single', 'int16'), { march: march(['int32'], ['int8']), pipeline: empty }));
    expect(error.code).toBe('QK_UNSUPPORTED');
    expect(error.message).toContain('as int16');
  });

  it('4. a weight type the march lacks → QK_UNSUPPORTED naming the node and the weight', async () => {
    const error = await errorOf(convert(seedQdq('single'), { march: march(['int32'], ['int8', 'int16'], []), pipeline: empty }));
    expect(error.code).toBe('QK_UNSUPPORTED');
    expect(error.message).toMatch(/'\/linear\d\/MatMul' \(quantkit::MatMul\) reads weight \S+ as int8/);
  });

  /** x (int16) → MatMul with an int16 weight [4, 3] → y; `reused`: y also feeds a second, int8-weight MatMul. */
  function int16WeightModel(quantizedOutput: boolean) {
    const b = new GraphBuilder();
    const x = qdq(b, b.input('input', DataType.FLOAT, [2, 4]), 0.001, 'int16');
    const q = b.initializer('w_quantized', Tensor.fromArray(Int16Array.from({ length: 12 }, (_, i) => (i - 6) * 4000), [4, 3]));
    const s = b.initializer('w_scale', Tensor.fromArray(new Float32Array([1e-4, 2e-4, 3e-4]), [3]));
    const zp = b.initializer('w_zero_point', Tensor.fromArray(new Int16Array(3), [3]));
    const [w] = b.node('DequantizeLinear', [q, s, zp], { name: 'w_DequantizeLinear', attributes: { axis: 1 } });
    const [y] = b.node('MatMul', [x, w!], { name: 'mm16' });
    b.output(quantizedOutput ? qdq(b, y!, 0.01, 'int16', 'y') : y!, DataType.FLOAT);
    return b.model();
  }

  it('4. int16 weights on a GEMM whose int32 output is a model output → QK_UNSUPPORTED naming the node and the rule', async () => {
    const error = await errorOf(convert(int16WeightModel(false), { march: march(['int32'], ['int16'], ['int8', 'int16']), pipeline: empty }));
    expect(error.code).toBe('QK_UNSUPPORTED');
    expect(error.subject).toBe('mm16');
    expect(error.message).toContain("'mm16' (quantkit::MatMul) reads int16 weight w_quantized but emits int32: a GEMM with a high-precision output keeps int8 weights.");
  });

  it('1. int16 x with an int16 weight: acc_shift 8, the Dequantize of the accumulator at s_x · s_w[c] · 2^8', async () => {
    const { model } = await convert(int16WeightModel(true), { march: march(['int32'], ['int16'], ['int8', 'int16']), pipeline: empty });
    const mm = model.graph.nodes().find((n) => n.name === 'mm16')!;
    expect(mm.attribute('acc_shift')?.asNumber()).toBe(8);
    const dq = mm.outputs[0]!.uses()[0]!.node;
    expect(dq.opType).toBe('Dequantize');
    expect(dq.attribute('scale')?.asNumbers()).toEqual([1e-4, 2e-4, 3e-4].map((w) => Math.fround(Math.fround(0.001) * Math.fround(w) * 256)));
  });
});
