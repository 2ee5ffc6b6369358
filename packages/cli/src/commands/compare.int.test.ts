import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot as root, runQuantkit as quantkit } from '../testing/run-cli.js';

const reuse = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
const fpn = path.join(root, 'fixtures/models/fpn_reuse/model.onnx');
const calib = path.join(root, 'fixtures/calib/seed');


let work: string;
let qat: string;
let qat8: string;
let int8Report: { outputs: Record<string, { sqnrDb: number; cosine: number }> };
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-compare-'));
  const calibrated = (template: string) => {
    const out = path.join(work, template);
    const result = quantkit('calibrate', reuse, '--calib', calib, '--template', template, '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    return { file: path.join(out, 'qat.onnx'), report: JSON.parse(result.stdout) };
  };
  qat = calibrated('int16').file;
  ({ file: qat8, report: int8Report } = calibrated('int8'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('quantkit compare', () => {
  it('measures qat.onnx against the float model over all samples, per output', () => {
    const result = quantkit('compare', reuse, qat, '--calib', calib, '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.samples).toBe(4);
    expect(Object.keys(report.outputs)).toEqual(['z', 'y']);
    for (const m of Object.values(report.outputs) as { sqnrDb: number; cosine: number; worst: { sample: string } }[]) {
      expect(m.sqnrDb).toBeGreaterThan(20);
      expect(m.sqnrDb).toBeLessThan(100);
      expect(m.worst.sample).toMatch(/^input_00\d\.npy$/);
    }
  });

  // onnxruntime's default ('all') optimisations refuse to load this int8 qat.onnx (they fuse its Q/DQ around the
  // MatMuls into uint8 kernels); 'basic' runs it as written.
  it("runs an int8 QDQ model, giving calibrate's numbers over all of calibrate's samples", () => {
    const result = quantkit('compare', reuse, qat8, '--calib', calib, '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    for (const name of ['z', 'y']) {
      expect(report.outputs[name].sqnrDb).toBeCloseTo(int8Report.outputs[name]!.sqnrDb, 6);
      expect(report.outputs[name].cosine).toBeCloseTo(int8Report.outputs[name]!.cosine, 9);
    }
  });

  it('prints a table naming both models and the data; a model against itself is exact', () => {
    const result = quantkit('compare', reuse, reuse, '--random', '2');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${path.normalize(reuse)} against ${path.normalize(reuse)}, over all 2 samples`);
    expect(result.stdout).toMatch(/^\s+z\s+200\.00\s+1\.000000/m);
  });

  it('models with other inputs: exit 1 naming both and the input, no stack', () => {
    const result = quantkit('compare', reuse, fpn, '--random', '1');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('QK_MODEL_MISMATCH');
    expect(result.stderr).toContain("input 'input' is float32[2, 100, 256]");
    expect(result.stderr).toContain('fpn_reuse/model.onnx');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stdout).toBe('');
  });

  it('a missing model is exit 1; missing or doubled data flags are usage errors (exit 2)', () => {
    expect(quantkit('compare', reuse, path.join(work, 'nope.onnx'), '--random', '1')).toMatchObject({ code: 1, stderr: expect.stringContaining('QK_FILE_NOT_FOUND') });
    expect(quantkit('compare', reuse, qat)).toMatchObject({ code: 2, stderr: expect.stringContaining('--calib') });
    expect(quantkit('compare', reuse, qat, '--calib', calib, '--random', '2').code).toBe(2);
    expect(quantkit('compare', reuse).code).toBe(2);
  });
});
