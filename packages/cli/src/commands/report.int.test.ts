import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot as root, runQuantkit as quantkit } from '../testing/run-cli.js';

const single = path.join(root, 'fixtures/models/seed_small_single/model.onnx');
const calib = path.join(root, 'fixtures/calib/seed');

let work: string;
let calibrated: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-report-'));
  calibrated = path.join(work, 'calibrated');
  const run = quantkit('calibrate', single, '--calib', calib, '--out', calibrated);
  expect(run.code, run.stderr).toBe(0);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('report.html', () => {
  it('calibrate writes report.html next to report.json, with its numbers, no leftover temp file', () => {
    const html = fs.readFileSync(path.join(calibrated, 'report.html'), 'utf8');
    const report = JSON.parse(fs.readFileSync(path.join(calibrated, 'report.json'), 'utf8'));
    expect(html).toContain(`<td>${report.outputs.z.sqnrDb.toFixed(2)}</td>`);
    expect(html).toContain(`<td>${report.outputs.z.weightOnly.sqnrDb.toFixed(2)}</td>`);
    expect(report.layers.every((l: { order: unknown }) => typeof l.order === 'number')).toBe(true);
    expect(fs.readdirSync(calibrated).sort()).toEqual(['calib.json', 'qat.onnx', 'report.html', 'report.json']);
  });

  it('quantkit report renders the same page from report.json', () => {
    const html = path.join(work, 'again.html');
    const run = quantkit('report', path.join(calibrated, 'report.json'), '--html', html);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`wrote ${html}\n`);
    expect(fs.readFileSync(html, 'utf8')).toBe(fs.readFileSync(path.join(calibrated, 'report.html'), 'utf8'));
  });

  it('quantkit report takes a report of an older run (no graph order, no ops, no integer metrics)', () => {
    const report = JSON.parse(fs.readFileSync(path.join(calibrated, 'report.json'), 'utf8'));
    const old = { ...report, layers: report.layers.map(({ order: _, ...rest }: { order: number }) => rest) };
    delete old.diagnostics;
    const file = path.join(work, 'old.json');
    fs.writeFileSync(file, JSON.stringify(old));
    const run = quantkit('report', file, '--html', path.join(work, 'old.html'));
    expect(run.code, run.stderr).toBe(0);
    const html = fs.readFileSync(path.join(work, 'old.html'), 'utf8');
    expect(html).toContain('predates graph order');
    expect(html).toContain('This report lists no ops');
  });

  it('a missing, non-JSON or non-report file is a data error naming the file (exit 1), and nothing is written', () => {
    const bad = path.join(work, 'bad.json');
    fs.writeFileSync(bad, '{ not json');
    const other = path.join(work, 'other.json');
    fs.writeFileSync(other, '{"name": "a package.json"}');
    const html = path.join(work, 'never.html');
    for (const [file, text] of [
      [path.join(work, 'missing.json'), 'Cannot read'],
      [bad, 'is not JSON'],
      [other, 'is not a quantkit report'],
    ] as const) {
      const run = quantkit('report', file, '--html', html);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(file);
      expect(run.stderr).toContain(text);
    }
    expect(fs.existsSync(html)).toBe(false);
  });

  it('no --html, or --html over the input, is a usage error (exit 2)', () => {
    const input = path.join(calibrated, 'report.json');
    expect(quantkit('report', input).code).toBe(2);
    expect(quantkit('report', input, '--html', input).code).toBe(2);
  });
});
