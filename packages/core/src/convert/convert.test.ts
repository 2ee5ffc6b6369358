import { describe, expect, it } from 'vitest';
import { isQuantkitError, type QuantkitError } from '../errors/quantkit-error.js';
import { GraphBuilder } from '../ir/builder.js';
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
});
