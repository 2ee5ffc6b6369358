import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's programmatic example, run as a user runs it (against the built packages).
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'examples/programmatic/quantize.mjs');
const bin = path.join(root, 'packages/cli/dist/bin.js');
const model = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
const calib = path.join(root, 'fixtures/calib/seed');

function node(...args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-programmatic-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('examples/programmatic/quantize.mjs', () => {
  it('is the example the README shows, verbatim', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${fs.readFileSync(script, 'utf8')}\`\`\``);
  });

  it('writes the qat.onnx and quantized.onnx the CLI writes, byte for byte, and prints what `quantkit compare` and `quantkit perf` give', () => {
    const out = path.join(work, 'programmatic');
    const run = node(script, model, calib, out);
    expect(run.code, run.stderr).toBe(0);

    const cli = path.join(work, 'cli');
    const calibrated = node(bin, 'calibrate', model, '--calib', calib, '--template', 'int16', '--out', cli, '--json');
    expect(calibrated.code, calibrated.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'qat.onnx')).equals(fs.readFileSync(path.join(cli, 'qat.onnx')))).toBe(true);

    const compared = node(bin, 'compare', model, path.join(out, 'qat.onnx'), '--calib', calib, '--json');
    expect(compared.code, compared.stderr).toBe(0);
    const report = JSON.parse(compared.stdout);
    expect(Object.keys(report.outputs)).toEqual(['z', 'y']);
    for (const [name, m] of Object.entries(report.outputs) as [string, { sqnrDb: number; cosine: number }][]) {
      expect(run.stdout).toContain(`${name}: SQNR ${m.sqnrDb.toFixed(2)} dB, cosine ${m.cosine.toFixed(6)}`);
    }

    const converted = path.join(work, 'converted.onnx');
    const conversion = node(bin, 'convert', path.join(cli, 'qat.onnx'), '--march', 'nash-m', '--out', converted);
    expect(conversion.code, conversion.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'quantized.onnx')).equals(fs.readFileSync(converted))).toBe(true);
    const perf = node(bin, 'perf', converted, '--march', 'nash-m', '--json');
    expect(perf.code, perf.stderr).toBe(0);
    const totals = JSON.parse(perf.stdout).totals;
    expect(run.stdout).toContain(`estimated ${totals.latencyUs.toFixed(1)} µs on J6M, of which ${totals.cpuDequantizeUs.toFixed(1)} µs`);
  });
});
