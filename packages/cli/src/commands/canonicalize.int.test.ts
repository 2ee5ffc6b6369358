import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from '@quantkit/core';
import { repoRoot as root, runQuantkit as quantkit } from '../testing/run-cli.js';

const cls = path.join(root, 'fixtures/models/ppocr_cls/model.onnx');

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-canonicalize-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('quantkit canonicalize', () => {
  it('writes the canonical float model: no Constant nodes, the shape plumbing folded once the input shape is fixed', () => {
    const out = path.join(work, 'cls.onnx');
    const before = fs.readFileSync(cls);
    const result = quantkit('canonicalize', cls, '--input-shape', 'x=1x3x48x192', '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.inputShapes).toEqual({ x: { shape: [1, 3, 48, 192], from: '--input-shape' } });
    expect(report.passes.map((p: { pass: string }) => p.pass)).toEqual(['raise-opset', 'constant-to-initializer', 'eliminate-identity', 'fold-constants', 'fold-batchnorm', 'fuse-activation-patterns', 'fold-affine']);
    expect(report.ops.before.Constant).toBe(250);
    for (const op of ['Constant', 'Shape', 'Slice', 'Concat', 'Cast']) expect(report.ops.after[op], op).toBeUndefined();
    const model = decodeModel(fs.readFileSync(out));
    expect(model.graph.nodeCount).toBe(report.nodes.after);
    expect(model.graph.initializers.size).toBeGreaterThan(100);
    expect(fs.readFileSync(cls).equals(before)).toBe(true);
  });

  it('refuses to write over its input (exit 2) and prints the canonicalize phase with --print-pipeline', () => {
    const clash = quantkit('canonicalize', cls, '--out', cls);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('never overwrites its inputs');
    const listing = quantkit('quantize', cls, '--random', '1', '--march', 'nash-m', '--out', path.join(work, 'x'), '--print-pipeline', '--json');
    expect(listing.code, listing.stderr).toBe(0);
    const phases = JSON.parse(listing.stdout).phases;
    expect(phases.map((p: { phase: string }) => p.phase)).toEqual(['canonicalize', 'prepare', 'convert']);
    expect(phases[0].passes.map((p: { name: string; plugin: string }) => `${p.plugin}:${p.name}`)).toEqual([
      ...['raise-opset', 'constant-to-initializer', 'eliminate-identity', 'fold-constants', 'fold-batchnorm', 'fuse-activation-patterns', 'fold-affine'].map((name) => `@quantkit/passes-canonicalize:${name}`),
    ]);
  });

  it('a config that drops fold-constants leaves the shape plumbing in place', () => {
    const config = path.join(work, 'quantkit.config.json');
    fs.writeFileSync(config, JSON.stringify({ pipeline: { canonicalize: [{ drop: 'fold-constants' }] } }));
    const out = path.join(work, 'cls-nofold.onnx');
    const result = quantkit('canonicalize', cls, '--input-shape', 'x=1x3x48x192', '--config', config, '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.passes.map((p: { pass: string }) => p.pass)).toEqual(['raise-opset', 'constant-to-initializer', 'eliminate-identity', 'fold-batchnorm', 'fuse-activation-patterns', 'fold-affine']);
    expect(report.ops.after.Shape).toBeGreaterThanOrEqual(1);
  });

  it('inspect shows the parameters in Constant nodes and the op histogram before and after canonicalize', () => {
    const result = quantkit('inspect', cls, '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect([report.parameters, report.constantParameters]).toEqual([0, 133665]);
    // BatchNorm folded into the convs: its scale, bias, mean and variance are no parameters of their own any more.
    expect(report.canonical.parameters).toBe(127224);
    expect(report.canonical.ops.Constant).toBeUndefined();
    expect(report.ops.Constant).toBe(250);
    const text = quantkit('inspect', cls);
    expect(text.stdout).toContain('133,665 (522.1 KiB) in Constant nodes');
    expect(text.stdout).toMatch(/Constant\s+250\s+0/);
  });
});

describe('--input-shape', () => {
  it('fixes symbolic dims for --random; report.json says which shapes were used and where they came from', () => {
    const out = path.join(work, 'random');
    const result = quantkit('calibrate', cls, '--random', '2', '--input-shape', 'x=1x3x48x96', '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.canonicalize.inputShapes).toEqual({ x: { shape: [1, 3, 48, 96], from: '--input-shape' } });
    expect(report.canonicalize.ops.after.Shape).toBeUndefined();
  });

  it('without it, the first calibration sample fixes the symbolic dims', () => {
    const out = path.join(work, 'sample');
    const result = quantkit('calibrate', cls, '--calib', path.join(root, 'fixtures/calib/ppocr_cls'), '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).canonicalize.inputShapes).toEqual({ x: { shape: [1, 3, 48, 192], from: 'the first sample (input_000.npy)' } });
  });

  const bad: [string, string, string][] = [
    ['an unknown input', 'y=1x3x48x96', "--input-shape y: the model has no input named 'y'"],
    ['a wrong rank', 'x=1x3x48', "--input-shape x: rank 3 (1x3x48), but input 'x' has rank 4"],
    ['a zero dim', 'x=1x3x0x96', "--input-shape x: dim 2 of input 'x' is 0"],
    ['a clash with a fixed dim', 'x=1x4x48x96', "--input-shape x: dim 1 of input 'x' is fixed to 3 by the model, not 4"],
  ];
  for (const [what, flag, message] of bad) {
    it(`${what} exits 1 naming the flag and the input`, () => {
      const result = quantkit('calibrate', cls, '--random', '1', '--out', path.join(work, 'bad'), '--input-shape', flag);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`[QK_INPUT_SHAPE]: ${message}`);
      expect(fs.existsSync(path.join(work, 'bad'))).toBe(false);
    });
  }

  it('perf and compare check the flag the same way', () => {
    for (const args of [
      ['compare', cls, cls, '--random', '1'],
      // The qat.onnx of the --random test above (its input shape is fixed; the checks are the same).
      ['perf', path.join(work, 'random', 'qat.onnx'), '--march', 'nash-m'],
    ]) {
      const result = quantkit(...args, '--input-shape', 'x=1x3x0x96');
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain("[QK_INPUT_SHAPE]: --input-shape x: dim 2 of input 'x' is 0");
    }
  });

  it('text that is not name=DIMS is a usage error (exit 2)', () => {
    const result = quantkit('calibrate', cls, '--random', '1', '--input-shape', 'x=1xAx2', '--out', path.join(work, 'bad'));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected name=DIMS');
  });
});
