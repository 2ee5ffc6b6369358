import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeModel } from '@quantkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, repoRoot as root } from '../testing/run-cli.js';

/**
 * Kill safety: `quantkit quantize` SIGKILLed at 20 moments spread over a whole run leaves, in its output folder,
 * only complete files — each output present is byte-identical to the one an uninterrupted run writes (the flow is
 * deterministic), so never a truncated one — and nothing else but clearly temporary files (`.<name>.<pid>.<hex>.tmp`,
 * hidden), which are never taken for outputs.
 */
const OUTPUTS = ['calib.json', 'qat.onnx', 'quantized.onnx', 'report.json', 'report.html'];
const TEMPORARY = /^\.(calib\.json|qat\.onnx|quantized\.onnx|report\.json|report\.html)\.\d+\.[0-9a-f]+\.tmp$/;
const KILLS = 20;
let work: string;

function quantizeArgs(out: string): string[] {
  return ['quantize', 'fixtures/models/fpn_reuse/model.onnx', '--calib', 'fixtures/calib/fpn_reuse', '--march', 'nash-m', '--workers', '1', '--out', out];
}

/** Runs quantize; kills it with SIGKILL after `killAfterMs` (if given). Resolves with how long it ran. */
function run(out: string, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [cliBin, ...quantizeArgs(out)], { cwd: root, stdio: 'ignore' });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started });
    });
  });
}

let reference: string;
let fullMs: number;
beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-kill-'));
  reference = path.join(work, 'reference');
  const result = await run(reference);
  expect(result.code).toBe(0);
  fullMs = result.ms;
}, 300_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('quantize killed at 20 points', () => {
  it('leaves only complete, loadable outputs (and hidden .tmp files at most)', { timeout: 900_000 }, async () => {
    // Points spread over the whole run, from process start to just past the uninterrupted run's length.
    const points = Array.from({ length: KILLS }, (_, i) => Math.round(((i + 0.5) / KILLS) * fullMs * 1.05));
    const outcomes: { at: number; signal: NodeJS.Signals | null; present: string[] }[] = [];
    const pending = points.map((at, i) => ({ at, out: path.join(work, `kill-${i}`) }));
    const worker = async () => {
      for (let p = pending.shift(); p; p = pending.shift()) {
        const result = await run(p.out, p.at);
        const present = fs.existsSync(p.out) ? fs.readdirSync(p.out) : [];
        for (const file of present) {
          if (OUTPUTS.includes(file)) {
            const bytes = fs.readFileSync(path.join(p.out, file));
            expect(bytes.equals(fs.readFileSync(path.join(reference, file))), `${file} after a kill at ${p.at} ms`).toBe(true);
            if (file.endsWith('.json')) expect(() => JSON.parse(bytes.toString())).not.toThrow();
            else if (file.endsWith('.html')) expect(bytes.toString()).toMatch(/<\/html>\s*$/);
            else expect(decodeModel(bytes, { file }).graph.nodeCount).toBeGreaterThan(0);
          } else {
            expect(file, `unexpected file after a kill at ${p.at} ms`).toMatch(TEMPORARY);
          }
        }
        outcomes.push({ at: p.at, signal: result.signal, present });
      }
    };
    await Promise.all([worker(), worker()]);
    expect(outcomes).toHaveLength(KILLS);
    // The points span the run: some kills land before any output, and at least one run is cut short.
    expect(outcomes.some((o) => o.signal === 'SIGKILL')).toBe(true);
    expect(outcomes.some((o) => o.present.filter((f) => OUTPUTS.includes(f)).length < OUTPUTS.length)).toBe(true);
  });
});
