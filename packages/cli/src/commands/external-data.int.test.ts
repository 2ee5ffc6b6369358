import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, loadModel, saveModel } from '@quantkit/core';
import { repoRoot, runQuantkitIn } from '../testing/run-cli.js';

// A model whose weights live in an external data file (written here from the seed fixture, a few hundred KB),
// run from another working folder: onnxruntime must find the data beside the model, not in the working folder.
let work: string;
let model: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-external-'));
  fs.mkdirSync(path.join(work, 'model'));
  model = path.join(work, 'model', 'model.onnx');
  saveModel(loadModel(path.join(repoRoot, 'fixtures/models/seed_small_reuse/model.onnx')), model, { externalData: 'always' });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('models with external data', () => {
  it('calibrate and quantize read the weights from beside the model, with the same results as the inline model', () => {
    expect(fs.existsSync(`${model}.data`)).toBe(true);
    const calib = path.join(repoRoot, 'fixtures/calib/seed');
    const inline = path.join(repoRoot, 'fixtures/models/seed_small_reuse/model.onnx');
    const run = (file: string, out: string) =>
      runQuantkitIn(work, 'quantize', file, '--calib', calib, '--march', 'nash-m', '--out', path.join(work, out), '--json');
    const external = run(model, 'external');
    expect(external.code, external.stderr).toBe(0);
    const reference = run(inline, 'inline');
    expect(reference.code, reference.stderr).toBe(0);
    const read = (dir: string, file: string) => fs.readFileSync(path.join(work, dir, file));
    expect(read('external', 'calib.json').equals(read('inline', 'calib.json'))).toBe(true);
    // qat.onnx and quantized.onnx inline the weights again (small models are written self-contained): the same
    // graphs and the same weight bytes, though the tensors' proto fields are written in another form.
    expect(fs.readdirSync(path.join(work, 'external')).sort()).toEqual(['calib.json', 'qat.onnx', 'quantized.onnx', 'report.html', 'report.json']);
    for (const file of ['qat.onnx', 'quantized.onnx']) {
      const [a, b] = [decodeModel(read('external', file)), decodeModel(read('inline', file))];
      expect(a.graph.nodes().map((n) => n.opType), file).toEqual(b.graph.nodes().map((n) => n.opType));
      for (const [name, value] of b.graph.initializers) {
        const other = a.graph.initializers.get(name)!.constValue!;
        expect(Buffer.from(other.rawBytes()).equals(Buffer.from(value.constValue!.rawBytes())), `${file} ${name}`).toBe(true);
      }
    }
    const a = JSON.parse(external.stdout);
    const b = JSON.parse(reference.stdout);
    expect(a.outputs).toEqual(b.outputs);
    expect(a.integer).toEqual(b.integer);
  }, 240_000);
});
