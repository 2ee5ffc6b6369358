import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/type-info.js';
import { IntegerGraphBuilder } from '../integer/integer-builder.js';
import { linearModel, TEST_PARAMS, testMarch } from './__fixtures__/test-march.js';
import { perf, PERF_DISCLAIMER, perfSummary, type OpEstimate, type PerfReport } from './perf.js';

const march = testMarch();
const op = (report: PerfReport, name: string): OpEstimate => {
  const found = report.ops.find((o) => o.name === name);
  if (!found) throw new Error(`no op ${name} in ${report.ops.map((o) => o.name).join(', ')}`);
  return found;
};
const close = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 9);

/** x [n, cin, h, w] float → Quantize → Conv (int8 weight [cout, cin/group, kh, kw]) → int32 → Dequantize (CPU) → y. */
function convModel(o: { n: number; cin: number; h: number; w: number; cout: number; group: number; k: [number, number]; strides: [number, number]; pads: number[]; act?: 'int8' | 'int16' }) {
  const b = new IntegerGraphBuilder('conv');
  const x = b.input('x', DataType.FLOAT, [o.n, o.cin, o.h, o.w]);
  const q = b.quantize(x, { scale: 0.1, dtype: o.act ?? 'int8', name: 'xq' });
  const weight = b.initializer('w', Tensor.fromArray(new Int8Array(o.cout * (o.cin / o.group) * o.k[0] * o.k[1]), [o.cout, o.cin / o.group, ...o.k]));
  const bias = b.initializer('b', Tensor.fromArray(new Int32Array(o.cout), [o.cout]));
  const acc = b.conv(q, weight, bias, {
    name: 'conv',
    outDtype: 'int32',
    xScale: 0.1,
    wScale: new Array<number>(o.cout).fill(0.01),
    attributes: { group: o.group, strides: o.strides, pads: o.pads, kernel_shape: o.k },
  });
  b.output(b.dequantize(acc, { scale: new Array<number>(o.cout).fill(0.001), axis: 1, name: 'dq' }));
  return b.model();
}

describe('perf: MACs', () => {
  it('counts a Conv as N·Cout·Hout·Wout·(Cin/group)·kh·kw, with the output size from pads and strides', () => {
    const c = { n: 2, cin: 8, h: 17, w: 12, cout: 16, group: 2, k: [3, 5] as [number, number], strides: [2, 1] as [number, number], pads: [1, 2, 1, 2] };
    const report = perf(convModel(c), march);
    const hOut = Math.floor((c.h + c.pads[0]! + c.pads[2]! - c.k[0]) / c.strides[0]) + 1;
    const wOut = Math.floor((c.w + c.pads[1]! + c.pads[3]! - c.k[1]) / c.strides[1]) + 1;
    const conv = op(report, 'conv');
    expect(conv.outputShape).toEqual([c.n, c.cout, hOut, wOut]);
    expect(conv.macs).toBe(c.n * c.cout * hOut * wOut * (c.cin / c.group) * c.k[0] * c.k[1]);
    expect(conv.unit).toBe('bpu');
    expect(conv.dtypes).toBe('int8×int8→int32');
  });

  it('counts a MatMul as batch · M · K · N', () => {
    const { model, k, n } = linearModel();
    const linear = op(perf(model, march), 'linear');
    expect(linear.macs).toBe(2 * 100 * k * n);
    expect(linear.outputShape).toEqual([2, 100, n]);
  });

  it('counts a Gemm with transB as M · K · N', () => {
    const b = new IntegerGraphBuilder('gemm');
    const x = b.quantize(b.input('x', DataType.FLOAT, [4, 32]), { scale: 0.1, dtype: 'int8' });
    const w = b.initializer('w', Tensor.fromArray(new Int8Array(10 * 32), [10, 32]));
    b.output(b.gemm(x, w, undefined, { name: 'gemm', outDtype: 'int8', attributes: { transB: 1 } }));
    const gemm = op(perf(b.model(), march), 'gemm');
    expect(gemm.macs).toBe(4 * 32 * 10);
    expect(gemm.outputShape).toEqual([4, 10]);
  });

  it('computes GEMM time at the rate of the activation × weight dtype pair', () => {
    const int8 = op(perf(linearModel({ act: 'int8' }).model, march), 'linear');
    const int16 = op(perf(linearModel({ act: 'int16' }).model, march), 'linear');
    close(int8.computeUs, (int8.macs / TEST_PARAMS.bpu.macsPerSecond.int8xint8) * 1e6);
    close(int16.computeUs, (int16.macs / TEST_PARAMS.bpu.macsPerSecond.int16xint8) * 1e6);
    expect(int16.dtypes).toBe('int16×int8→int32');
  });
});

describe('perf: DDR bytes', () => {
  it('counts inputs, weights and outputs at their dtypes (int32 and float32 at 4 bytes, int16 at 2)', () => {
    const { model, k, n } = linearModel({ act: 'int16', out: 'int32' });
    const linear = op(perf(model, march), 'linear');
    expect(linear.bytes).toEqual({ inputs: 2 * 100 * k * 2, weights: k * n * 1 + n * 4, outputs: 2 * 100 * n * 4 });
    expect(linear.ddrBytes).toBe(linear.bytes.inputs + linear.bytes.weights + linear.bytes.outputs);
    const int8Out = op(perf(linearModel({ act: 'int8', out: 'int8' }).model, march), 'linear');
    expect(int8Out.bytes).toEqual({ inputs: 2 * 100 * k, weights: k * n + n * 4, outputs: 2 * 100 * n });
    const floatOut = op(perf(linearModel({ out: 'float32' }).model, march), 'linear');
    expect(floatOut.bytes.outputs).toBe(2 * 100 * n * 4);
    const quantize = op(perf(model, march), 'x_quantize');
    expect(quantize.bytes).toEqual({ inputs: 2 * 100 * k * 4, weights: 0, outputs: 2 * 100 * k * 2 });
  });
});

describe('perf: roofline', () => {
  it('takes max(compute, memory) + the unit overhead, and names the bound', () => {
    const { model } = linearModel();
    const memoryBound = op(perf(model, march), 'linear');
    expect(memoryBound.memoryUs).toBeGreaterThan(memoryBound.computeUs);
    expect(memoryBound.bound).toBe('memory');
    close(memoryBound.memoryUs, (memoryBound.ddrBytes / TEST_PARAMS.ddr.bytesPerSecond) * 1e6);
    close(memoryBound.latencyUs, memoryBound.memoryUs + TEST_PARAMS.bpu.opOverheadSeconds * 1e6);

    const computeBound = op(perf(model, march, { params: { ddr: { bytesPerSecond: 1e15 }, bpu: { macsPerSecond: { int8xint8: 1e9 } } } }), 'linear');
    expect(computeBound.bound).toBe('compute');
    close(computeBound.computeUs, (computeBound.macs / 1e9) * 1e6);
    close(computeBound.latencyUs, computeBound.computeUs + TEST_PARAMS.bpu.opOverheadSeconds * 1e6);
  });

  it('sums the ops into the totals by unit', () => {
    const report = perf(linearModel({ dequantize: true }).model, march);
    const sum = (unit: string) => report.ops.filter((o) => o.unit === unit).reduce((t, o) => t + o.latencyUs, 0);
    close(report.totals.bpuUs, sum('bpu'));
    close(report.totals.cpuUs, sum('cpu'));
    close(report.totals.latencyUs, report.totals.npuUs + report.totals.cpuUs);
    expect(report.totals.macs).toBe(op(report, 'linear').macs);
  });
});

describe('perf: outputs and the CPU dequantize', () => {
  it('charges the host dequantize of an int32 output to the CPU, through its Dequantize node', () => {
    const { model, n } = linearModel({ out: 'int32', dequantize: true });
    const report = perf(model, march);
    const dq = op(report, 'y_dequantize');
    expect(dq.unit).toBe('cpu');
    const elements = 2 * 100 * n;
    close(dq.computeUs, (elements / TEST_PARAMS.cpu.elementsPerSecond.dequantize) * 1e6);
    expect(report.outputs).toEqual([
      { name: model.graph.outputs[0]!.name, from: 'npu', dtype: 'int32', elements, cpuDequantizeUs: dq.latencyUs, node: 'y_dequantize' },
    ]);
    expect(report.totals.cpuDequantizeUs).toBeGreaterThan(0);
    close(report.totals.cpuDequantizeUs, dq.latencyUs);
  });

  it('charges an int32 graph output without a Dequantize as the same host dequantize, added to the totals', () => {
    const { model, n } = linearModel({ out: 'int32' });
    const report = perf(model, march);
    const expected = ((2 * 100 * n) / TEST_PARAMS.cpu.elementsPerSecond.dequantize + TEST_PARAMS.cpu.opOverheadSeconds) * 1e6;
    expect(report.outputs[0]).toMatchObject({ dtype: 'int32', node: null });
    close(report.outputs[0]!.cpuDequantizeUs, expected);
    close(report.totals.latencyUs, report.ops.reduce((t, o) => t + o.latencyUs, 0) + expected);
  });

  it('adds no CPU dequantize for a float32 output (nash-h), and charges the float32 output stage to the GEMM', () => {
    const { model, n } = linearModel({ out: 'float32' });
    const report = perf(model, march, { params: { ddr: { bytesPerSecond: 1e15 } } });
    expect(report.outputs[0]).toMatchObject({ dtype: 'float32', cpuDequantizeUs: 0 });
    expect(report.totals.cpuDequantizeUs).toBe(0);
    const linear = op(report, 'linear');
    close(linear.computeUs, (linear.macs / TEST_PARAMS.bpu.macsPerSecond.int8xint8 + (2 * 100 * n) / TEST_PARAMS.bpu.float32OutputElementsPerSecond) * 1e6);
  });

  it('adds no CPU dequantize for a bfloat16 output of the NPU: it is a float type, as for the ops', () => {
    const b = new IntegerGraphBuilder('bf16');
    const x = b.quantize(b.input('x', DataType.FLOAT, [4, 8]), { scale: 0.1, dtype: 'int8' });
    const y = b.vpu('Sigmoid', [b.dequantize(x, { scale: 0.1 })], {}, 'sigmoid');
    y.type = tensorType(DataType.BFLOAT16, [4, 8]);
    b.output(y);
    expect(perf(b.model(), march).outputs[0]).toMatchObject({ name: y.name, from: 'npu', dtype: 'bfloat16', cpuDequantizeUs: 0 });
  });

  it('puts a Dequantize that feeds the NPU on the VPU, and one with a unit attribute on that unit', () => {
    const b = new IntegerGraphBuilder('vpu');
    const q = b.quantize(b.input('x', DataType.FLOAT, [4, 8]), { scale: 0.1, dtype: 'int8', name: 'q' });
    const dq = b.dequantize(q, { scale: 0.1, name: 'dq' });
    const relu = b.vpu('Relu', [dq], {}, 'relu');
    const back = b.quantize(relu, { scale: 0.1, dtype: 'int8', name: 'requant', unit: 'bpu' });
    b.output(back);
    const report = perf(b.model(), march);
    expect(report.ops.map((o) => [o.name, o.unit, o.kind])).toEqual([
      ['q', 'cpu', 'quantize'],
      ['dq', 'vpu', 'dequantize'],
      ['relu', 'vpu', 'float-island'],
      ['requant', 'bpu', 'quantize'],
    ]);
    close(op(report, 'relu').computeUs, (32 / TEST_PARAMS.vpu.elementsPerSecond.floatIsland) * 1e6);
  });
});

describe('perf: parameters', () => {
  it('changes the estimate when a parameter is overridden, and marks the row as an override', () => {
    const { model } = linearModel({ dequantize: true });
    const before = perf(model, march);
    const after = perf(model, march, { params: { cpu: { elementsPerSecond: { dequantize: 4e8 } } } });
    close(op(after, 'y_dequantize').computeUs, op(before, 'y_dequantize').computeUs / 4);
    expect(after.totals.latencyUs).toBeLessThan(before.totals.latencyUs);
    expect(after.params.find((r) => r.param === 'cpu.elementsPerSecond.dequantize')).toMatchObject({ value: 4e8, basis: 'override' });
    expect(after.params.find((r) => r.param === 'cpu.elementsPerSecond.quantize')).toMatchObject({ value: 1e8, basis: 'assumption' });
  });

  it('refuses an unknown parameter key, naming it', () => {
    const { model } = linearModel();
    expect(() => perf(model, march, { params: { cpu: { dequantizePerSecond: 1 } } as never })).toThrow(/perf\.params\.cpu\.dequantizePerSecond/);
    expect(() => perf(model, march, { params: { gpu: {} } as never })).toThrow(expect.objectContaining({ code: 'QK_CONFIG' }));
  });

  it('selects a chip of the march (default: the march default), case-insensitively', () => {
    const { model } = linearModel();
    const t1 = perf(model, march);
    const t2 = perf(model, march, { chip: 't2', params: { ddr: { bytesPerSecond: 1e15 } } });
    expect(t1.chip).toBe('T1');
    expect(t2.chip).toBe('T2');
    close(op(t2, 'linear').computeUs, op(t1, 'linear').computeUs / 2);
    expect(() => perf(model, march, { chip: 'T9' })).toThrow(expect.objectContaining({ code: 'QK_USAGE', hint: expect.stringContaining('T1, T2') }));
  });

  it('refuses a march without cost-model numbers', () => {
    const { perf: _, ...bare } = testMarch();
    expect(() => perf(linearModel().model, bare)).toThrow(expect.objectContaining({ code: 'QK_UNSUPPORTED' }));
  });
});

describe('perf: models', () => {
  it('labels every report as an estimate with the disclaimer, and the summary keeps it', () => {
    const report = perf(linearModel().model, march);
    expect(report.estimate).toBe(true);
    expect(report.disclaimer).toBe(PERF_DISCLAIMER);
    expect(report.disclaimer).toMatch(/estimate/i);
    expect(perfSummary(report)).toEqual({ estimate: true, disclaimer: PERF_DISCLAIMER, march: 'test-march', chip: 'T1', totals: report.totals, outputs: report.outputs });
  });

  it('refuses a GEMM output the march cannot emit (a model converted for another march)', () => {
    expect(() => perf(linearModel({ out: 'float32' }).model, testMarch(['int8', 'int16', 'int32']))).toThrow(
      expect.objectContaining({ code: 'QK_UNSUPPORTED', subject: 'linear' }),
    );
  });

  it('refuses a float model', () => {
    const b = new GraphBuilder('float');
    b.output(b.node('Relu', [b.input('x', DataType.FLOAT, [2])])[0]!);
    expect(() => perf(b.model(), march)).toThrow(expect.objectContaining({ code: 'QK_UNSUPPORTED' }));
  });

  it('reads a QDQ model as the integer ops around its GEMMs, and says so', () => {
    const b = new GraphBuilder('qdq');
    const scale = b.initializer('s', new Float32Array([0.05]), []);
    const zero = b.initializer('zp', new Int8Array(1), []);
    const x = b.input('x', DataType.FLOAT, [3, 16]);
    const [xq] = b.node('QuantizeLinear', [x, scale, zero], { name: 'xq' });
    const [xdq] = b.node('DequantizeLinear', [xq!, scale, zero], { name: 'xdq' });
    const wq = b.initializer('wq', Tensor.fromArray(new Int8Array(16 * 4), [16, 4]));
    const ws = b.initializer('ws', new Float32Array([0.01]), []);
    const [w] = b.node('DequantizeLinear', [wq, ws, zero], { name: 'wdq' });
    const [y] = b.node('MatMul', [xdq!, w!], { name: 'mm' });
    b.output(y!, DataType.FLOAT, [3, 4]);
    const report = perf(b.model(), march);
    expect(report.notes.join(' ')).toMatch(/QDQ model/);
    const mm = report.ops.find((o) => o.kind === 'gemm');
    expect(mm?.macs).toBe(3 * 16 * 4);
    expect(report.outputs[0]).toMatchObject({ from: 'npu' });
  });

  it('gives no estimate for an op whose shape is unknown, and one when the shapes are given', () => {
    const { model, n } = linearModel({ dims: ['batch', 100, 256] });
    const unknown = perf(model, march);
    expect(unknown.unknownShapes).toContain('linear');
    expect(op(unknown, 'linear')).toMatchObject({ estimated: false, latencyUs: 0 });
    const known = perf(model, march, { shapes: new Map([['x', [3, 100, 256]]]) });
    expect(known.unknownShapes).toEqual([]);
    expect(op(known, 'linear').macs).toBe(3 * 100 * 256 * n);
  });

  it('costs views nothing, moves integer data on the VPU, and runs float fallbacks on the CPU', () => {
    const b = new IntegerGraphBuilder('mixed');
    const q = b.quantize(b.input('x', DataType.FLOAT, [2, 3, 8, 8]), { scale: 0.1, dtype: 'int8', name: 'q' });
    const shape = b.initializer('shape', Tensor.fromArray(new BigInt64Array([2n, 3n, 64n]), [3]));
    const [flat] = b.node('Reshape', [q, shape], { name: 'reshape' });
    const [t] = b.node('Transpose', [flat!], { name: 'transpose', attributes: { perm: [0, 2, 1] } });
    const dq = b.dequantize(t!, { scale: 0.1, name: 'dq', unit: 'cpu' });
    const [soft] = b.node('Softmax', [dq], { name: 'softmax', attributes: { axis: -1 } });
    b.output(soft!);
    const report = perf(b.model(), march);
    expect(op(report, 'reshape')).toMatchObject({ kind: 'view', latencyUs: 0, ddrBytes: 0 });
    expect(op(report, 'transpose')).toMatchObject({ kind: 'data-movement', unit: 'vpu', outputShape: [2, 64, 3] });
    expect(op(report, 'softmax')).toMatchObject({ kind: 'cpu-float', unit: 'cpu' });
    close(op(report, 'softmax').computeUs, ((2 * 64 * 3) / TEST_PARAMS.cpu.elementsPerSecond.float) * 1e6);
    expect(report.outputs[0]).toMatchObject({ from: 'cpu', cpuDequantizeUs: 0 });
  });
});

/**
 * x [1, 3, 8, 8] (an image) → Quantize → conv1 (3→16, 3×3, int8) → Dequantize → Relu → Quantize (VPU) = r →
 * conv2 (16→16, 1×1, int8) → Dequantize → Add(·, Dequantize(r)) → Quantize (VPU) → dw (depthwise 3×3, int32) →
 * Dequantize (CPU) → y.
 */
function blockModel() {
  const b = new IntegerGraphBuilder('block');
  const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
  const q = b.quantize(x, { scale: 0.1, dtype: 'int8', name: 'x_quantize' });
  const conv = (name: string, input: ReturnType<typeof b.input>, cin: number, k: number, group: number, out: 'int8' | 'int32') =>
    b.conv(input, b.initializer(`${name}_w`, Tensor.fromArray(new Int8Array(16 * (cin / group) * k * k), [16, cin / group, k, k])), undefined, {
      name,
      outDtype: out,
      xScale: 0.1,
      wScale: new Array<number>(16).fill(0.01),
      attributes: { group, kernel_shape: [k, k], pads: new Array<number>(4).fill((k - 1) / 2) },
    });
  const a = conv('conv1', q, 3, 3, 1, 'int8');
  const relu = b.vpu('Relu', [b.dequantize(a, { scale: 0.1, unit: 'vpu', name: 'a_dq' })], {}, 'relu');
  const r = b.quantize(relu, { scale: 0.1, dtype: 'int8', unit: 'vpu', name: 'r' });
  const c = conv('conv2', r, 16, 1, 1, 'int8');
  const sum = b.vpu('Add', [b.dequantize(c, { scale: 0.1, unit: 'vpu', name: 'c_dq' }), b.dequantize(r, { scale: 0.1, unit: 'vpu', name: 'r_dq' })], {}, 'add');
  const s = b.quantize(sum, { scale: 0.1, dtype: 'int8', unit: 'vpu', name: 's' });
  const dw = conv('dw', s, 16, 3, 16, 'int32');
  b.output(b.dequantize(dw, { scale: new Array<number>(16).fill(0.001), axis: 1, name: 'y_dequantize' }));
  return b.model();
}

describe('perf case 2: the quantize of an image input runs on the BPU', () => {
  it('puts the Quantize of a 4-D 3-channel input on the BPU, and on the CPU with cpuInputQuantize', () => {
    expect(op(perf(blockModel(), march), 'x_quantize').unit).toBe('bpu');
    expect(op(perf(blockModel(), march, { cpuInputQuantize: true }), 'x_quantize').unit).toBe('cpu');
  });

  it('keeps the CPU for a graph input that is not an image', () => {
    expect(op(perf(linearModel().model, march), 'x_quantize').unit).toBe('cpu');
  });
});

describe('perf case 3: output stages fused into the GEMM layer', () => {
  const report = perf(blockModel(), march);

  it('fuses the activation and its Dequantize / Quantize into the GEMM before them, at no cost of their own', () => {
    for (const name of ['a_dq', 'relu', 'r']) {
      expect(op(report, name).fusedInto).toBe('conv1');
      expect(op(report, name).latencyUs).toBe(0);
      expect(op(report, name).ddrBytes).toBe(0);
    }
  });

  it('fuses a residual Add into the later GEMM, which reads the other operand as int8', () => {
    expect(op(report, 'add').fusedInto).toBe('conv2');
    expect(op(report, 'r_dq').fusedInto).toBe('conv1');
    // conv2 reads r once (its input and the residual operand are the same int8 tensor) and writes s.
    expect(op(report, 'conv2').bytes).toEqual({ inputs: 16 * 64, weights: 16 * 16, outputs: 16 * 64 });
    // conv1 writes r once, as int8, though r, its dequantized copy and a_dq all leave or stay in the layer.
    expect(op(report, 'conv1').bytes.outputs).toBe(16 * 64);
  });

  it('keeps an element-wise op whose other operand depends on the GEMM out of its layer', () => {
    const b = new IntegerGraphBuilder('se');
    const x = b.quantize(b.input('x', DataType.FLOAT, [1, 16, 4, 4]), { scale: 0.1, dtype: 'int8', name: 'xq' });
    const conv = b.conv(x, b.initializer('w', Tensor.fromArray(new Int8Array(16 * 16), [16, 16, 1, 1])), undefined, {
      name: 'conv',
      outDtype: 'int8',
      xScale: 0.1,
      wScale: new Array<number>(16).fill(0.01),
      attributes: { kernel_shape: [1, 1] },
    });
    const y = b.dequantize(conv, { scale: 0.1, unit: 'vpu', name: 'y' });
    const pooled = b.vpu('GlobalAveragePool', [y], {}, 'pool');
    b.output(b.vpu('Mul', [y, pooled], {}, 'excite'));
    const se = perf(b.model(), march);
    expect(op(se, 'pool').fusedInto).toBeNull();
    expect(op(se, 'excite').fusedInto).toBeNull();
    expect(op(se, 'excite').latencyUs).toBeGreaterThan(0);
  });
});

describe('perf case 3: an Epilogue is the output stage of its GEMM, a ScaleShift a requantization', () => {
  it('fuses the Epilogue into the GEMM layer at no cost of its own; the layer writes its int8 output', () => {
    const b = new IntegerGraphBuilder('epilogue');
    const x = b.quantize(b.input('x', DataType.FLOAT, [1, 16, 4, 4]), { scale: 0.1, dtype: 'int8', name: 'xq' });
    const acc = b.conv(x, b.initializer('w', Tensor.fromArray(new Int8Array(16 * 16), [16, 16, 1, 1])), undefined, {
      name: 'conv',
      outDtype: 'int32',
      xScale: 0.1,
      wScale: new Array<number>(16).fill(0.01),
      attributes: { kernel_shape: [1, 1] },
    });
    const epilogue = b.vpu('Epilogue', [acc], { acc_scale: [0.001], steps: 'HardSwish', out_dtype: 'int8', out_scale: 0.05 }, 'epilogue');
    epilogue.type = tensorType(DataType.INT8, [1, 16, 4, 4]);
    b.output(b.dequantize(epilogue, { scale: 0.05, name: 'y' }));
    const report = perf(b.model(), march);
    expect(op(report, 'epilogue').kind).toBe('rescale');
    expect(op(report, 'epilogue').fusedInto).toBe('conv');
    expect(op(report, 'epilogue').latencyUs).toBe(0);
    expect(op(report, 'conv').bytes.outputs).toBe(16 * 16);
  });

  it('costs a standalone ScaleShift as a requantization on the VPU', () => {
    const b = new IntegerGraphBuilder('scale-shift');
    const x = b.quantize(b.input('x', DataType.FLOAT, [1, 16, 4, 4]), { scale: 0.1, dtype: 'int8', name: 'xq' });
    const shifted = b.vpu('ScaleShift', [x], { multiplier: [2 ** 21], shift: [22], offset: [2 ** 21], out_dtype: 'int8' }, 'scale_shift');
    shifted.type = tensorType(DataType.INT8, [1, 16, 4, 4]);
    b.output(b.dequantize(shifted, { scale: 0.05, name: 'y' }));
    const report = perf(b.model(), march);
    expect(op(report, 'scale_shift').unit).toBe('vpu');
    expect(op(report, 'scale_shift').kind).toBe('rescale');
    expect(op(report, 'scale_shift').fusedInto).toBeNull();
    expect(op(report, 'scale_shift').latencyUs).toBeGreaterThan(0);
  });
});

describe('perf case 4: activations on chip', () => {
  it('keeps a tensor of at most sram.activationBytes off DDR between layers; graph inputs and outputs still go through it', () => {
    const ddr = perf(blockModel(), march);
    const onChip = perf(blockModel(), march, { params: { sram: { activationBytes: 16 * 64 } } });
    expect(op(onChip, 'conv2').bytes).toEqual({ inputs: 0, weights: 16 * 16, outputs: 0 });
    expect(op(onChip, 'x_quantize').bytes.inputs).toBe(3 * 64 * 4);
    expect(op(onChip, 'dw').bytes.outputs).toBe(16 * 64 * 4);
    expect(onChip.totals.ddrBytes).toBeLessThan(ddr.totals.ddrBytes);
  });
});

describe('perf case 5: per-layer costs', () => {
  it('runs a Conv with fewer input channels per group than reductionLanes at that fraction of the rate, times gemmEfficiency', () => {
    const params = { bpu: { reductionLanes: 8, gemmEfficiency: 0.5 } };
    const report = perf(blockModel(), march, { params });
    const rate = TEST_PARAMS.bpu.macsPerSecond.int8xint8 * 0.5;
    close(op(report, 'conv2').computeUs, (op(report, 'conv2').macs / rate) * 1e6);
    close(op(report, 'dw').computeUs, (op(report, 'dw').macs / (rate / 8)) * 1e6);
    close(op(report, 'conv1').computeUs, (op(report, 'conv1').macs / (rate * (3 / 8))) * 1e6);
  });

  it('charges the fixed cost once per layer, not per fused op', () => {
    const report = perf(blockModel(), march);
    const layers = report.ops.filter((o) => o.fusedInto === null && o.kind !== 'view');
    expect(layers.map((o) => o.name)).toEqual(['x_quantize', 'conv1', 'conv2', 'dw', 'y_dequantize']);
    const overhead = layers.reduce((n, o) => n + o.overheadUs, 0);
    close(overhead, (4 * TEST_PARAMS.bpu.opOverheadSeconds + TEST_PARAMS.cpu.opOverheadSeconds) * 1e6);
  });

  it('costs int16 activations at the int16 MAC rate and twice the bytes: never below int8', () => {
    const int8 = perf(linearModel({ act: 'int8' }).model, march);
    const int16 = perf(linearModel({ act: 'int16' }).model, march);
    expect(int16.totals.latencyUs).toBeGreaterThan(int8.totals.latencyUs);
    expect(int16.totals.ddrBytes).toBeGreaterThan(int8.totals.ddrBytes);
  });
});
