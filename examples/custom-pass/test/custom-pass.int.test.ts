import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, decodeModel, GraphBuilder, saveModel, Tensor, type Model } from '@quantkit/core';

// Runs the built CLI as a user would: the plugin is named only in a quantkit.config.json.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'packages/cli/dist/bin.js');
const example = path.join(root, 'examples/custom-pass');

function quantkit(cwd: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** x → MatMul → Softmax → MatMul → y: the first MatMul's output is the Softmax input, quantized in between. */
function softmaxModel(): Model {
  const weight = (rows: number, cols: number, seed: number) =>
    Tensor.fromArray(Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 0.7 + seed) / 2), [rows, cols]);
  const b = new GraphBuilder('attention');
  const x = b.input('x', DataType.FLOAT, [1, 8, 16]);
  const [logits] = b.node('MatMul', [x, b.initializer('w1', weight(16, 16, 1))], { name: 'logits' });
  const [probs] = b.node('Softmax', [logits!], { name: 'softmax', attributes: { axis: -1 } });
  const [y] = b.node('MatMul', [probs!, b.initializer('w2', weight(16, 4, 2))], { name: 'head' });
  b.output(y!, DataType.FLOAT, [1, 8, 4]);
  return b.model({ '': 17 }, 8);
}

/** The element type of the QuantizeLinear in front of the Softmax in a qat.onnx (its zero point's dtype). */
function softmaxInputType(qatFile: string): number {
  const qat = decodeModel(fs.readFileSync(qatFile));
  const softmax = qat.graph.nodes().find((n) => n.opType === 'Softmax')!;
  const dequantize = softmax.inputs[0]!.producer()!;
  expect(dequantize.opType).toBe('DequantizeLinear');
  const quantize = dequantize.inputs[0]!.producer()!;
  expect(quantize.opType).toBe('QuantizeLinear');
  return quantize.inputs[2]!.constValue!.dtype;
}

let work: string;
let project: string;
let modelFile: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-custom-pass-'));
  project = path.join(work, 'project');
  fs.mkdirSync(project);
  modelFile = path.join(project, 'attention.onnx');
  saveModel(softmaxModel(), modelFile);
  // As the docs say: the config names the plugin by a path relative to the config file, and nothing else.
  fs.writeFileSync(path.join(project, 'quantkit.config.json'), JSON.stringify({ plugins: [path.relative(project, example)] }));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('examples/custom-pass through quantkit.config.json', () => {
  it('quantkit plugins lists the pass with its plugin and version', () => {
    const result = quantkit(project, 'plugins', '--json');
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout);
    expect(listing.config).toBe(path.join(project, 'quantkit.config.json'));
    expect(listing.passes).toContainEqual(
      expect.objectContaining({ name: 'int16-into-softmax', phase: 'prepare', plugin: '@quantkit-examples/custom-pass', version: '0.1.0' }),
    );
    expect(listing.plugins).toContainEqual(expect.objectContaining({ name: '@quantkit-examples/custom-pass', origin: 'config' }));
  });

  it('--print-pipeline shows it after the official prepare passes', () => {
    const result = quantkit(project, 'calibrate', modelFile, '--random', '2', '--out', path.join(work, 'unused'), '--print-pipeline', '--json');
    expect(result.code, result.stderr).toBe(0);
    const prepare = JSON.parse(result.stdout).phases.find((p: { phase: string }) => p.phase === 'prepare');
    expect(prepare.phase).toBe('prepare');
    expect(prepare.passes.map((p: { name: string }) => p.name)).toEqual(['high-precision-output', 'reused-output-rescale', 'int16-into-softmax']);
    expect(prepare.passes[2].plugin).toBe('@quantkit-examples/custom-pass');
    expect(fs.existsSync(path.join(work, 'unused'))).toBe(false);
  });

  it('the QuantizeLinear before the Softmax is int16 in an int8 model; dropping the pass in the config gives int8', () => {
    const out = path.join(work, 'with-pass');
    const result = quantkit(project, 'calibrate', modelFile, '--random', '4', '--template', 'int8', '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(softmaxInputType(path.join(out, 'qat.onnx'))).toBe(DataType.INT16);
    const report = JSON.parse(result.stdout);
    expect(report.diagnostics).toContainEqual(expect.objectContaining({ pass: 'int16-into-softmax', node: 'softmax' }));

    // The head reads the Softmax output at the template's int8: only the path into the Softmax changed.
    const qat = decodeModel(fs.readFileSync(path.join(out, 'qat.onnx')));
    const head = qat.graph.nodes().find((n) => n.opType === 'MatMul' && n.inputs[0]!.producer()?.opType === 'DequantizeLinear' && n.name.includes('head'));
    expect(head?.inputs[0]!.producer()!.inputs[0]!.producer()!.inputs[2]!.constValue!.dtype).toBe(DataType.INT8);

    const dropped = path.join(work, 'drop.json');
    fs.writeFileSync(dropped, JSON.stringify({ plugins: [example], pipeline: { prepare: [{ drop: 'int16-into-softmax' }] } }));
    const without = path.join(work, 'without-pass');
    const baseline = quantkit(project, 'calibrate', modelFile, '--random', '4', '--template', 'int8', '--config', dropped, '--out', without, '--json');
    expect(baseline.code, baseline.stderr).toBe(0);
    expect(softmaxInputType(path.join(without, 'qat.onnx'))).toBe(DataType.INT8);
  });

  it("the example's own config loads the plugin by the path '.'", () => {
    const result = quantkit(root, 'plugins', '--json', '--config', path.join(example, 'quantkit.config.json'));
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).passes.map((p: { name: string }) => p.name)).toContain('int16-into-softmax');
  });
});
