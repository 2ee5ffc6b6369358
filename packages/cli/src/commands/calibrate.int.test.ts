import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeNpy, encodeNpz, parseNpy } from '@quantkit/core';
import { repoRoot as root, runQuantkit as quantkit, runQuantkitIn as quantkitIn } from '../testing/run-cli.js';

const fixtures = path.join(root, 'fixtures');
const single = path.join(fixtures, 'models/seed_small_single/model.onnx');
const reuse = path.join(fixtures, 'models/seed_small_reuse/model.onnx');
const calib = path.join(fixtures, 'calib/seed');


let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-calibrate-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const outDir = (name: string) => path.join(work, name);
const report = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));

describe('quantkit calibrate on the seed model', () => {
  it('writes calib.json, qat.onnx and report.json; --json prints exactly report.json', () => {
    const out = outDir('single-int16');
    const result = quantkit('calibrate', single, '--calib', calib, '--template', 'int16', '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const r = JSON.parse(result.stdout);
    expect(Object.keys(r.outputs)).toEqual(['z']);
    for (const key of ['sqnrDb', 'cosine', 'maxAbs', 'meanAbs']) expect(typeof r.outputs.z[key]).toBe('number');
    expect(r.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.calibration.samples).toBe(4);
    expect(r.measuredOn).toEqual({ source: 'calib', data: `4 .npy files in ${calib}`, samples: 4 });
    expect(r.layers.length).toBeGreaterThan(0);
  });

  it('--eval measures the report on other samples and leaves calib.json and qat.onnx as they are', () => {
    const out = outDir('single-int16-eval');
    const one = path.join(calib, 'input_002.npy');
    const result = quantkit('calibrate', single, '--calib', calib, '--eval', one, '--template', 'int16', '--out', out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('1 samples of --eval');
    const r = report(out);
    expect(r.measuredOn).toMatchObject({ source: 'eval', samples: 1 });
    const all = report(outDir('single-int16'));
    expect(r.outputs.z.sqnrDb).not.toBe(all.outputs.z.sqnrDb);
    for (const file of ['calib.json', 'qat.onnx']) {
      expect(fs.readFileSync(path.join(out, file)).equals(fs.readFileSync(path.join(outDir('single-int16'), file))), file).toBe(true);
    }
  });

  it('keeps linear3 (the last linear) at high precision: no Q/DQ after it in qat.onnx', () => {
    const qat = decodeModel(fs.readFileSync(path.join(outDir('single-int16'), 'qat.onnx')));
    const z = qat.graph.outputs.find((v) => v.name === 'z')!;
    expect(z.producer()?.opType).toBe('Add');
    expect(z.uses()).toHaveLength(0);
    expect(qat.opset).toBe(21);
  });

  it('gives the same bytes for the same inputs', () => {
    const again = outDir('single-int16-again');
    expect(quantkit('calibrate', single, '--calib', calib, '--template', 'int16', '--out', again, '--json').code).toBe(0);
    for (const file of ['calib.json', 'qat.onnx']) {
      expect(fs.readFileSync(path.join(again, file)).equals(fs.readFileSync(path.join(outDir('single-int16'), file)))).toBe(true);
    }
    const a = report(again);
    const b = report(outDir('single-int16'));
    expect(a).toEqual(b);
  });

  it('reuse: y reaches the graph output in float and linear3 reads a quantized copy; rescale is not worse than quantize', () => {
    const sqnr: Record<string, number> = {};
    for (const mode of ['rescale', 'quantize']) {
      const out = outDir(`reuse-${mode}`);
      const result = quantkit('calibrate', reuse, '--calib', calib, '--reused-outputs', mode, '--out', out, '--json');
      expect(result.code, result.stderr).toBe(0);
      sqnr[mode] = report(out).outputs.y.sqnrDb;
    }
    const qat = decodeModel(fs.readFileSync(path.join(outDir('reuse-rescale'), 'qat.onnx')));
    const y = qat.graph.outputs.find((v) => v.name === 'y')!;
    expect(y.producer()?.opType).toBe('Add');
    const quantizeOfY = y.uses().map((u) => u.node);
    expect(quantizeOfY.map((n) => n.opType)).toEqual(['QuantizeLinear']);
    const readers = quantizeOfY[0]!.output.uses().flatMap((u) => u.node.output.uses().map((v) => v.node.name));
    expect(readers).toEqual(['/linear3/MatMul']);
    expect(sqnr.rescale).toBeGreaterThanOrEqual(sqnr.quantize!);
  });

  it('shards merged with merge-calib give the same calib.json as one run', () => {
    const whole = outDir('whole');
    expect(quantkit('calibrate', single, '--calib', calib, '--out', whole, '--json').code).toBe(0);
    const parts = [0, 1].map((k) => {
      const out = outDir(`shard-${k}`);
      const result = quantkit('calibrate', single, '--calib', calib, '--shard', `${k}/2`, '--out', out);
      expect(result.code, result.stderr).toBe(0);
      expect(fs.existsSync(path.join(out, 'qat.onnx'))).toBe(false);
      return path.join(out, 'calib.json');
    });
    const merged = path.join(work, 'merged.json');
    expect(quantkit('merge-calib', ...parts, '--out', merged).code).toBe(0);
    expect(fs.readFileSync(merged, 'utf8')).toBe(fs.readFileSync(path.join(whole, 'calib.json'), 'utf8'));
    const fromMerged = outDir('from-merged');
    expect(quantkit('calibrate', single, '--calib', calib, '--from-calib', merged, '--out', fromMerged, '--json').code).toBe(0);
    expect(fs.readFileSync(path.join(fromMerged, 'qat.onnx')).equals(fs.readFileSync(path.join(whole, 'qat.onnx')))).toBe(true);
  });
});

describe('output paths', () => {
  it('--out naming an existing file: usage error naming it, before any calibration, file untouched', () => {
    const file = path.join(work, 'a-file');
    fs.writeFileSync(file, 'keep me');
    const result = quantkit('calibrate', single, '--random', '1', '--out', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--out ${file} is a file`);
    expect(result.stderr).not.toContain('QK_INTERNAL');
    expect(result.stderr).not.toContain('calibrating');
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('merge-calib refuses an --out that is one of its inputs, which stays as it was', () => {
    const out = outDir('merge-self');
    expect(quantkit('calibrate', single, '--random', '1', '--shard', '0/1', '--out', out).code).toBe(0);
    const input = path.join(out, 'calib.json');
    const before = fs.readFileSync(input, 'utf8');
    const result = quantkit('merge-calib', input, '--out', input);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('never overwrites its inputs');
    expect(fs.readFileSync(input, 'utf8')).toBe(before);
  });
});

describe('bad calibration data', () => {
  const sample = parseNpy(fs.readFileSync(path.join(calib, 'input_000.npy')));
  const folder = (name: string, files: Record<string, Uint8Array>) => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), bytes);
    return dir;
  };
  const withNaN = () => {
    const data = Float32Array.from(sample.data as Float32Array);
    data[1234] = Number.NaN;
    return encodeNpy({ dtype: 'float32', shape: sample.shape, data });
  };
  const cases: [string, () => string, string[]][] = [
    ['a wrong shape', () => folder('shape', { 'a.npy': encodeNpy({ dtype: 'float32', shape: [2, 100, 128], data: new Float32Array(25600) }) }), ['a.npy', 'input']],
    ['a wrong dtype', () => folder('dtype', { 'b.npy': encodeNpy({ dtype: 'float64', shape: sample.shape, data: new Float64Array(51200) }) }), ['b.npy', 'input', 'float64']],
    ['a NaN', () => folder('nan', { 'c.npy': withNaN() }), ['c.npy', 'input', 'NaN']],
    ['a missing input name', () => folder('missing', { 'd.npz': encodeNpz({ x: sample }) }), ['d.npz', 'input']],
    ['an empty folder', () => folder('empty', {}), ['empty']],
  ];
  for (const [what, make, mentions] of cases) {
    it(`exits 1 for ${what}, naming the file and tensor, and writes nothing`, () => {
      const data = make();
      const out = outDir(`bad-${path.basename(data)}`);
      const result = quantkit('calibrate', single, '--calib', data, '--out', out);
      expect(result.code).toBe(1);
      for (const text of mentions) expect(result.stderr).toContain(text);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(fs.existsSync(out)).toBe(false);
    });
  }

  it('exits 2 when neither --calib nor --random is given', () => {
    const result = quantkit('calibrate', single, '--out', outDir('none'));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--calib');
  });
});

describe('quantkit.config.json', () => {
  const project = (name: string, config: unknown) => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'quantkit.config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    return dir;
  };

  it('is read from the working folder; its settings apply and its text is fingerprinted into report.json', () => {
    const dir = project('cwd-config', { template: 'int16', observer: { kind: 'mse' }, reusedOutputs: 'quantize' });
    const out = path.join(dir, 'out');
    const result = quantkitIn(dir, 'calibrate', reuse, '--calib', calib, '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    const r = JSON.parse(result.stdout);
    expect(r.config).toMatchObject({ template: 'int16', reusedOutputs: 'quantize' });
    expect(r.calibration.observer).toBe('mse');
    const text = fs.readFileSync(path.join(dir, 'quantkit.config.json'), 'utf8');
    expect(r.config.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('flags win over the config', () => {
    const dir = project('flags-win', { template: 'int16', observer: 'mse' });
    const result = quantkitIn(dir, 'calibrate', single, '--random', '2', '--template', 'int8', '--observer', 'minmax', '--out', path.join(dir, 'out'), '--json');
    expect(result.code, result.stderr).toBe(0);
    const r = JSON.parse(result.stdout);
    expect(r.config.template).toBe('int8');
    expect(r.calibration.observer).toBe('minmax');
  });

  it('--config with the keys of the old calibrate config gives the same qat.onnx as the flags', () => {
    const file = path.join(work, 'old-keys.json');
    fs.writeFileSync(file, JSON.stringify({ template: 'int16', reusedOutputs: 'rescale', overrides: [] }));
    const out = outDir('old-keys');
    expect(quantkit('calibrate', single, '--calib', calib, '--config', file, '--out', out, '--json').code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'qat.onnx')).equals(fs.readFileSync(path.join(outDir('single-int16'), 'qat.onnx')))).toBe(true);
  });

  it('pipeline edits change what runs: dropping reused-output-rescale quantizes y for the graph output too', () => {
    const dir = project('drop-rescale', { pipeline: { prepare: [{ drop: 'reused-output-rescale' }] } });
    const listing = quantkitIn(dir, 'calibrate', reuse, '--random', '2', '--out', path.join(dir, 'out'), '--print-pipeline');
    expect(listing.code, listing.stderr).toBe(0);
    expect(listing.stdout).toContain('1 pipeline edit');
    expect(listing.stdout).toMatch(/prepare \(1 pass, in order\)\n\s+1\.\s+high-precision-output\s+@quantkit\/passes-output-precision/);
    expect(listing.stdout).not.toContain('reused-output-rescale');
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);

    const result = quantkitIn(dir, 'calibrate', reuse, '--calib', calib, '--out', path.join(dir, 'out'), '--json');
    expect(result.code, result.stderr).toBe(0);
    const qat = decodeModel(fs.readFileSync(path.join(dir, 'out', 'qat.onnx')));
    expect(qat.graph.outputs.find((v) => v.name === 'y')!.producer()?.opType).toBe('DequantizeLinear');
  });

  it('--print-pipeline --json lists the canonicalize and prepare phases with each pass and its plugin', () => {
    const result = quantkit('calibrate', reuse, '--out', outDir('never'), '--print-pipeline', '--json');
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout);
    expect(listing.config).toBeNull();
    expect(listing.phases.map((p: { phase: string }) => p.phase)).toEqual(['canonicalize', 'prepare']);
    expect(listing.phases[1].passes).toEqual([
      expect.objectContaining({ name: 'high-precision-output', plugin: '@quantkit/passes-output-precision' }),
      expect.objectContaining({ name: 'reused-output-rescale', plugin: '@quantkit/passes-output-precision' }),
    ]);
  });

  const bad: [string, unknown, string[]][] = [
    ['an unknown key', { templates: 'int16' }, ['QK_CONFIG', 'unknown key `templates`']],
    ['invalid JSON', '{ "template": ', ['QK_CONFIG', 'is not valid JSON']],
    ['an unknown template', { template: 'int4' }, ['QK_CONFIG', "`template` names an unknown template 'int4'"]],
    ['an edit naming no pass', { pipeline: { prepare: [{ insert: 'high-precision-output', after: 'nope' }] } }, ['QK_CONFIG', 'pipeline.prepare[0]', "'nope'"]],
    ['a bad observer option', { observer: { kind: 'minmax', averagingConstnt: 0.1 } }, ['QK_CONFIG', '`observer`', 'averagingConstnt']],
    ['an override matching nothing', { overrides: [{ opType: 'Softmax', dtype: 'qint16' }] }, ['QK_CONFIG', 'Softmax']],
  ];
  for (const [what, config, mentions] of bad) {
    it(`${what} in the config: exit 1 naming the file and the key, nothing written`, () => {
      const dir = project(`bad-${what.replace(/\W+/g, '-')}`, config);
      const out = path.join(dir, 'out');
      const result = quantkitIn(dir, 'calibrate', single, '--random', '2', '--out', out);
      expect(result.code).toBe(1);
      for (const text of mentions) expect(result.stderr).toContain(text);
      expect(result.stderr).toContain(path.join(dir, 'quantkit.config.json'));
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(fs.existsSync(out)).toBe(false);
    });
  }

  it('a missing --config file is exit 1; an unknown --template or --observer is a usage error', () => {
    expect(quantkit('calibrate', single, '--random', '1', '--config', path.join(work, 'absent.json'), '--out', outDir('x'))).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('QK_FILE_NOT_FOUND'),
    });
    const template = quantkit('calibrate', single, '--random', '1', '--template', 'int4', '--out', outDir('x'));
    expect(template.code).toBe(2);
    expect(template.stderr).toContain('known: int8, int16');
    const observer = quantkit('calibrate', single, '--random', '1', '--observer', 'percentile', '--out', outDir('x'));
    expect(observer.code).toBe(2);
    expect(observer.stderr).toContain('loaded: minmax, mse');
  });
});
