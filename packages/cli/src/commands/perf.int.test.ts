import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, encodeModel, encodeNpy, IntegerGraphBuilder, Tensor, type Dim } from '@quantkit/core';
import { repoRoot as root, runQuantkit as quantkit } from '../testing/run-cli.js';

// These tests run the built CLI (`npm test` builds first), as a user would.
const seedReuse = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
const calib = path.join(root, 'fixtures/calib/seed');


let work: string;
let qat: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-perf-'));
  const calibrated = quantkit('calibrate', seedReuse, '--calib', calib, '--out', path.join(work, 'seed'));
  expect(calibrated.code, calibrated.stderr).toBe(0);
  qat = path.join(work, 'seed', 'qat.onnx');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** quantized.onnx written in code: x [dims] → Quantize → MatMul [K=64, N=32] → int32 → Dequantize → y. */
function integerModelFile(name: string, dims: Dim[] = [8, 64]): string {
  const b = new IntegerGraphBuilder('mm');
  const x = b.quantize(b.input('x', DataType.FLOAT, dims), { scale: 0.05, dtype: 'int8', name: 'x_quantize' });
  const w = b.initializer('w', Tensor.fromArray(new Int8Array(64 * 32).map((_, i) => (i % 7) - 3), [64, 32]));
  const acc = b.matmul(x, w, undefined, { name: 'mm', outDtype: 'int32', xScale: 0.05, wScale: new Array<number>(32).fill(0.01) });
  b.output(b.dequantize(acc, { scale: new Array<number>(32).fill(0.0005), axis: 1, name: 'y_dequantize' }));
  const file = path.join(work, name);
  fs.writeFileSync(file, encodeModel(b.model()));
  return file;
}

describe('quantkit perf on an integer model file', () => {
  it('prints per-op rows, totals, the CPU dequantize of the int32 output, and says it is an estimate with sources', () => {
    const file = integerModelFile('mm.onnx');
    const { code, stdout, stderr } = quantkit('perf', file, '--march', 'nash-m');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(new RegExp(`mm\\s+MatMul\\s+bpu\\s+int8×int8→int32\\s+${(8 * 64 * 32).toLocaleString('en-US')}`));
    expect(stdout).toMatch(/y_dequantize\s+Dequantize\s+cpu\s+int32→float32/);
    expect(stdout).toMatch(/^\s+total\s/m);
    expect(stdout).toMatch(/CPU dequantize of outputs \d+\.\d+ µs/);
    expect(stdout).toContain('(J6M)');
    expect(stdout).toMatch(/Every number is an estimate from a cost model/);
    expect(stdout).toContain('input shapes: x [8, 64]');
    expect(stdout).toMatch(/bpu\.macsPerSecond\.int8xint8\s+6\.400e\+13\s+MAC\/s\s+public.*128 TOPS/);
    expect(stdout).toMatch(/ddr\.bytesPerSecond\s+\S+\s+bytes\/s\s+assumption/);
  });

  it('--json prints the report, labelled as an estimate; --chip selects the other chip', () => {
    const file = integerModelFile('mm-json.onnx');
    const j6m = JSON.parse(quantkit('perf', file, '--march', 'nash-m', '--json').stdout);
    const j6e = JSON.parse(quantkit('perf', file, '--march', 'nash-m', '--chip', 'J6E', '--json').stdout);
    for (const report of [j6m, j6e]) {
      expect(report.estimate).toBe(true);
      expect(report.disclaimer).toMatch(/estimate/);
    }
    expect([j6m.chip, j6e.chip]).toEqual(['J6M', 'J6E']);
    const mm = (r: { ops: { name: string; macs: number; computeUs: number }[] }) => r.ops.find((o) => o.name === 'mm')!;
    expect(mm(j6m).macs).toBe(8 * 64 * 32);
    expect(mm(j6e).computeUs / mm(j6m).computeUs).toBeCloseTo(128 / 80, 9);
    expect(j6m.outputs).toEqual([expect.objectContaining({ dtype: 'int32', node: 'y_dequantize' })]);
    expect(j6m.totals.cpuDequantizeUs).toBeGreaterThan(0);
  });

  it('takes parameters from the "perf" section of --config, and refuses unknown keys', () => {
    const file = integerModelFile('mm-config.onnx');
    const config = path.join(work, 'quantkit.config.json');
    fs.writeFileSync(config, JSON.stringify({ perf: { params: { cpu: { elementsPerSecond: { dequantize: 1e12 }, opOverheadSeconds: 0 } } } }));
    const base = JSON.parse(quantkit('perf', file, '--march', 'nash-m', '--json').stdout);
    const tuned = JSON.parse(quantkit('perf', file, '--march', 'nash-m', '--json', '--config', config).stdout);
    expect(tuned.totals.cpuDequantizeUs).toBeLessThan(base.totals.cpuDequantizeUs);
    expect(tuned.params.find((r: { param: string }) => r.param === 'cpu.elementsPerSecond.dequantize')).toMatchObject({ value: 1e12, basis: 'override' });

    fs.writeFileSync(config, JSON.stringify({ perf: { params: { cpu: { dequantizeRate: 1 } } } }));
    const bad = quantkit('perf', file, '--march', 'nash-m', '--config', config);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('QK_CONFIG');
    expect(bad.stderr).toContain('perf.params.cpu.dequantizeRate');
  });

  it('runs the model once for shapes it cannot infer (symbolic dims), given --input', () => {
    const file = integerModelFile('mm-dynamic.onnx', ['batch', 64]);
    const without = quantkit('perf', file, '--march', 'nash-m', '--json');
    expect(without.code).toBe(0);
    expect(without.stderr).toMatch(/no shape for .*Inputs with symbolic dims: x \[batch, 64\].*input sample/);
    expect(JSON.parse(without.stdout).unknownShapes).toContain('mm');
    const sample = path.join(work, 'x.npy');
    fs.writeFileSync(sample, encodeNpy({ dtype: 'float32', shape: [5, 64], data: new Float32Array(5 * 64) }));
    const withInput = quantkit('perf', file, '--march', 'nash-m', '--json', '--input', sample);
    expect(withInput.code, withInput.stderr).toBe(0);
    const report = JSON.parse(withInput.stdout);
    expect(report.unknownShapes).toEqual([]);
    expect(report.ops.find((o: { name: string }) => o.name === 'mm').macs).toBe(5 * 64 * 32);
  });

  const usage: [string, string[], RegExp][] = [
    ['--compare on nash-m', ['--march', 'nash-m', '--compare'], /--compare applies to --march nash-h/],
    ['--compare with --integer-conv', ['--march', 'nash-h', '--compare', '--integer-conv'], /drop --integer-conv/],
    ['--compare on a converted model', ['--march', 'nash-h', '--compare'], /already converted/],
    ['an unknown chip', ['--march', 'nash-m', '--chip', 'J6X'], /no chip 'J6X'.*J6M, J6E/],
  ];
  for (const [what, args, message] of usage) {
    it(`exits 2 with a usage message for ${what}`, () => {
      const result = quantkit('perf', integerModelFile(`usage-${args.join('')}.onnx`), ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    });
  }

  it('estimates a float model on the template\'s default plan: int16 costs more than int8, and the report says how it was made', () => {
    const run = (template: string) => {
      const result = quantkit('perf', seedReuse, '--march', 'nash-m', '--template', template, '--json');
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout);
    };
    const [int8, int16] = [run('int8'), run('int16')];
    expect(int8.notes[0]).toMatch(/float model.*int8 template.*placeholder scales/);
    expect(int16.notes[0]).toMatch(/int16 template/);
    expect(int16.ops.some((o: { dtypes: string }) => o.dtypes.startsWith('int16×'))).toBe(true);
    expect(int16.totals.latencyUs).toBeGreaterThan(int8.totals.latencyUs);
    expect(int16.totals.ddrBytes).toBeGreaterThan(int8.totals.ddrBytes);
  });
});

describe('quantkit perf on the seed qat.onnx', () => {
  it('converts it first: on nash-m both outputs leave the NPU as int32 and the host dequantizes them', () => {
    const report = JSON.parse(quantkit('perf', qat, '--march', 'nash-m', '--json').stdout);
    expect(report.outputs.map((o: { name: string; dtype: string }) => [o.name, o.dtype])).toEqual([
      ['z', 'int32'],
      ['y', 'int32'],
    ]);
    expect(report.notes).toEqual([]);
    expect(report.ops.some((o: { opType: string }) => o.opType === 'Rescale')).toBe(true);
  });

  it('--compare on nash-h shows float-output and integer-conv with their totals and the difference', () => {
    const { code, stdout, stderr } = quantkit('perf', qat, '--march', 'nash-h', '--compare');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/nash-h \(J6P\), float-output/);
    expect(stdout).toMatch(/nash-h \(J6P\), integer-conv/);
    expect(stdout).toMatch(/\s+float-output\s+integer-conv\s+difference/);
    expect(stdout).toMatch(/total latency µs\s+\d+\.\d+\s+\d+\.\d+\s+[+-]?\d+\.\d+/);
    expect(stdout).toMatch(/CPU dequantize of outputs µs\s+0\.00\s+\d+\.\d+\s+\+\d+\.\d+/);
    expect(stdout).toMatch(/is estimated faster by/);

    const json = JSON.parse(quantkit('perf', qat, '--march', 'nash-h', '--compare', '--json').stdout);
    expect(json.variants.map((v: { variant: string }) => v.variant)).toEqual(['float-output', 'integer-conv']);
    const [float, integer] = json.variants;
    expect(json.difference.latencyUs).toBeCloseTo(integer.totals.latencyUs - float.totals.latencyUs, 9);
    expect(float.totals.cpuDequantizeUs).toBe(0);
    expect(integer.totals.cpuDequantizeUs).toBeGreaterThan(0);
  });

  it('--integer-conv on nash-h lowers as nash-m: int32 outputs with a host dequantize', () => {
    const plain = JSON.parse(quantkit('perf', qat, '--march', 'nash-h', '--json').stdout);
    const integer = JSON.parse(quantkit('perf', qat, '--march', 'nash-h', '--integer-conv', '--json').stdout);
    expect(plain.outputs.map((o: { dtype: string }) => o.dtype)).toEqual(['float32', 'float32']);
    expect(integer.outputs.map((o: { dtype: string }) => o.dtype)).toEqual(['int32', 'int32']);
    expect(integer.variant).toBe('integer-conv');
  });

  it('--input naming a missing file is an error (exit 1), even when the shapes need no sample', () => {
    const result = quantkit('perf', integerModelFile('mm-input.onnx'), '--march', 'nash-m', '--input', path.join(work, 'nothere.npy'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('QK_FILE_NOT_FOUND');
    expect(result.stderr).toContain('nothere.npy');
  });
});
