import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  calibrateModel,
  compareTensors,
  convert,
  createQuantkit,
  createSession,
  floatData,
  loadModel,
  lowerToStandard,
  parseNpy,
  releaseSession,
  runSession,
  saveModel,
  type GraphOptimizationLevel,
  type Model,
} from '@quantkit/core';
import { marchNashHPlugin } from '@quantkit/march-nash-h';
import { marchNashMPlugin } from '@quantkit/march-nash-m';
import { minMaxObserverFactory } from '@quantkit/observers';
import { canonicalizePlugin } from '@quantkit/passes-canonicalize';
import { outputPrecisionPlugin } from '@quantkit/passes-output-precision';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, repoRoot as root } from '../testing/run-cli.js';

/**
 * Every fixture's qat.onnx and quantized.onnx, int8 and int16, nash-m and nash-h: (1) they load and run in
 * onnxruntime with its DEFAULT options (every graph optimization) as well as 'basic', and the two agree; (2)
 * `quantkit compare float.onnx quantized.onnx --calib …` measures the integer model (through the lowering that
 * report.json runs).
 */
const FIXTURES = [
  ['seed_small_single', 'seed'],
  ['seed_small_reuse', 'seed'],
  ['fpn_reuse', 'fpn_reuse'],
  ['ppocr_cls', 'ppocr_cls'],
  ['lcnet_dbnet', 'lcnet_dbnet'],
] as const;
const TEMPLATES = ['int8', 'int16'] as const;
const MARCHES = ['nash-m', 'nash-h'] as const;

const quantkit = createQuantkit({
  plugins: [canonicalizePlugin, outputPrecisionPlugin, marchNashMPlugin, marchNashHPlugin],
});
let work: string;

interface Case {
  fixture: string;
  calib: string;
  template: string;
  march: string;
  qat: string;
  quantized: string;
}
const cases: Case[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-compare-quantized-'));
  for (const [fixture, calib] of FIXTURES) {
    for (const template of TEMPLATES) {
      const calibrated = await calibrateModel({
        modelPath: path.join(root, 'fixtures/models', fixture, 'model.onnx'),
        data: { kind: 'dir', path: path.join(root, 'fixtures/calib', calib) },
        template,
        observer: minMaxObserverFactory,
        pipeline: quantkit.pipeline('prepare'),
        workers: 1,
        version: '0.0.0-test',
      });
      const qat = path.join(work, `${fixture}-${template}-qat.onnx`);
      saveModel(calibrated.qat, qat);
      for (const march of MARCHES) {
        const converted = await convert(calibrated.qat, {
          march: quantkit.march(march),
          pipeline: quantkit.pipeline('convert'),
        });
        const quantized = path.join(work, `${fixture}-${template}-${march}-quantized.onnx`);
        saveModel(converted.model, quantized);
        cases.push({ fixture, calib, template, march, qat, quantized });
      }
    }
  }
}, 900_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function firstSample(calib: string, model: Model): Map<string, ReturnType<typeof parseNpy>> {
  const dir = path.join(root, 'fixtures/calib', calib);
  const file = fs.readdirSync(dir).sort()[0]!;
  return new Map([[model.graph.inputs[0]!.name, parseNpy(fs.readFileSync(path.join(dir, file)), file)]]);
}

async function run(model: Model, feeds: ReadonlyMap<string, ReturnType<typeof parseNpy>>, level: GraphOptimizationLevel) {
  const session = await createSession(model, { graphOptimizationLevel: level, threads: 1, name: `${model.graph.name} (${level})` });
  try {
    const names = model.graph.outputs.map((v) => v.name);
    const outputs = await runSession(session, feeds, names);
    return new Map(names.map((n) => [n, floatData(n, outputs.get(n)!.dtype, outputs.get(n)!.data as ArrayLike<number>)]));
  } finally {
    await releaseSession(session);
  }
}

/** The lowest SQNR, over the outputs, of the 'all' run against the 'basic' run. */
async function defaultAgainstBasic(model: Model, calib: string): Promise<number> {
  const feeds = firstSample(calib, model);
  const basic = await run(model, feeds, 'basic');
  const all = await run(model, feeds, 'all');
  let lowest = Infinity;
  for (const [name, data] of basic) lowest = Math.min(lowest, compareTensors(data, all.get(name)!, name).sqnrDb);
  return lowest;
}

function runCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliBin, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('qat.onnx and quantized.onnx under onnxruntime default options', () => {
  it('every fixture qat.onnx (int8 and int16) loads and runs with all optimizations and agrees with basic', { timeout: 900_000 }, async () => {
    const seen = new Set<string>();
    for (const c of cases) {
      if (seen.has(c.qat)) continue;
      seen.add(c.qat);
      const model = loadModel(c.qat);
      expect(model.opset, c.qat).toBe(c.template === 'int16' ? 21 : Math.max(13, loadModel(path.join(root, 'fixtures/models', c.fixture, 'model.onnx')).opset));
      // 'all' swaps int8 Q/DQ for onnxruntime's own integer kernels: close to, not equal to, the simulation.
      expect(await defaultAgainstBasic(model, c.calib), c.qat).toBeGreaterThan(c.template === 'int16' ? 60 : 25);
    }
  });

  it('every fixture quantized.onnx, lowered as report.json runs it, loads with all optimizations and agrees with basic', { timeout: 900_000 }, async () => {
    for (const c of cases) {
      const lowered = lowerToStandard(loadModel(c.quantized));
      // The integer arithmetic is exact under both; the float VPU islands (a fused epilogue such as lcnet_dbnet's
      // ConvTranspose → Sigmoid) are reordered by 'all', which can move a rounding by one step downstream.
      expect(await defaultAgainstBasic(lowered, c.calib), c.quantized).toBeGreaterThan(45);
    }
  });
});

describe('quantkit compare float.onnx quantized.onnx', () => {
  it('works on every fixture, int8 and int16, both marches, and measures the integer model', { timeout: 900_000 }, async () => {
    const pending = [...cases];
    const results: { c: Case; result: Awaited<ReturnType<typeof runCli>> }[] = [];
    const worker = async () => {
      for (let c = pending.shift(); c; c = pending.shift()) {
        const float = path.join(root, 'fixtures/models', c.fixture, 'model.onnx');
        // One calibration sample each keeps the 20 runs cheap; compare's aggregation over samples is tested elsewhere.
        const sample = path.join(root, 'fixtures/calib', c.calib, 'input_000.npy');
        const result = await runCli('compare', float, c.quantized, '--calib', sample, '--json');
        results.push({ c, result });
      }
    };
    await Promise.all([worker(), worker()]);
    expect(results).toHaveLength(FIXTURES.length * TEMPLATES.length * MARCHES.length);
    for (const { c, result } of results) {
      expect(result.code, `${c.quantized}: ${result.stderr}`).toBe(0);
      const report = JSON.parse(result.stdout) as { samples: number; outputs: Record<string, { sqnrDb: number; cosine: number }> };
      expect(report.samples).toBe(1);
      const outputs = Object.values(report.outputs);
      expect(outputs.length).toBeGreaterThan(0);
      for (const m of outputs) {
        // A real quantized model: not identical to the float one, and not garbage.
        expect(m.sqnrDb, c.quantized).toBeGreaterThan(c.template === 'int16' ? 10 : 5);
        expect(m.sqnrDb, c.quantized).toBeLessThan(140);
      }
    }
  });
});

describe('quantkit compare on a classifier', () => {
  it('reports the top-1 agreement of the int8 quantized.onnx of ppocr_cls with the float model over its eval samples', { timeout: 300_000 }, async () => {
    const c = cases.find((x) => x.fixture === 'ppocr_cls' && x.template === 'int8' && x.march === 'nash-m')!;
    const float = path.join(root, 'fixtures/models/ppocr_cls/model.onnx');
    const evalDir = path.join(root, 'fixtures/eval/ppocr_cls');
    const json = await runCli('compare', float, c.quantized, '--calib', evalDir, '--json');
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { samples: number; outputs: Record<string, { top1?: { agree: number; rows: number } }> };
    expect(report.samples).toBe(16);
    const top1 = report.outputs['softmax_0.tmp_0']!.top1!;
    expect(top1.rows).toBe(16);
    // Measured 16/16 (and 48/48 on the shared model's 48 eval samples); one flip is the tolerance.
    expect(top1.agree).toBeGreaterThanOrEqual(15);
    const text = await runCli('compare', float, c.quantized, '--calib', evalDir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`top-1 agreement[\\s\\S]*${top1.agree}/16`));
  });
});

