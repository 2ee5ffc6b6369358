#!/usr/bin/env node
// The fuzzer: mutated real fixture models (protobuf fields and varints, truncation, duplicated and dangling names,
// cycles, huge dims, wrong dtypes, external-data offsets past the end; op types, attributes, initializers),
// .npy / .npz headers and bodies, and config files. Each case runs the built CLI verb it targets in a child
// process, with a time limit and an RSS limit. A case fails as
//   crash: an exit other than 0 / 1, a stack trace on stderr, or a non-QuantkitError (QK_INTERNAL);
//   hang: more than --timeout seconds of CPU time, or 6 × that of wall time (killed) — CPU time, because on a loaded
//   machine a healthy case can wait longer than that for a core;
//   memory: above --max-rss MB of resident memory (killed).
//   npm run fuzz -- [-n 300] [--seed 1] [--jobs 2] [--timeout 20] [--max-rss 2048] [--case K] [--keep]
// Needs `npm run build`. Prints one summary line; exits 1 if any case failed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCase } from './mutators.mjs';
import { Rng, caseSeed } from './rng.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cliBin = path.join(root, 'packages/cli/dist/bin.js');

function parseArgs(argv) {
  const opts = { n: 300, seed: 1, jobs: 2, timeout: 20, maxRss: 2048, only: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => Number(argv[++i]);
    if (a === '-n') opts.n = next();
    else if (a === '--seed') opts.seed = next();
    else if (a === '--jobs') opts.jobs = next();
    else if (a === '--timeout') opts.timeout = next();
    else if (a === '--max-rss') opts.maxRss = next();
    else if (a === '--case') opts.only = next();
    else if (a === '--keep') opts.keep = true;
    else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  return opts;
}

/** Peak resident memory of a process so far, in kB (VmHWM), or 0 once it is gone. */
function peakRss(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far, or 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function runCli(args, opts) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [cliBin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let rssKb = 0;
    let cpu = 0;
    let killed;
    child.stdout.resume();
    child.stderr.on('data', (d) => {
      if (stderr.length < 20_000) stderr += d.toString();
    });
    const poll = setInterval(() => {
      rssKb = Math.max(rssKb, peakRss(child.pid));
      cpu = Math.max(cpu, cpuSeconds(child.pid));
      if (rssKb > opts.maxRss * 1024 && !killed) {
        killed = 'memory';
        child.kill('SIGKILL');
      } else if (cpu > opts.timeout && !killed) {
        killed = 'hang';
        child.kill('SIGKILL');
      }
    }, 25);
    const timer = setTimeout(() => {
      killed ??= 'hang';
      child.kill('SIGKILL');
    }, opts.timeout * 6000);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, signal, stderr, rssKb, cpu, killed, ms: Date.now() - started });
    });
  });
}

function verdict(result) {
  if (result.killed) return result.killed;
  if (result.code !== 0 && result.code !== 1) return 'crash';
  if (/QK_INTERNAL/.test(result.stderr) || /\n\s+at .+:\d+:\d+\)?\n/.test(result.stderr)) return 'crash';
  return 'ok';
}

/** The real files the mutations start from, and a calibrated qat.onnx (made once by the CLI). */
async function baseFiles(work) {
  const models = {};
  for (const [name, calib] of [['seed_small_single', 'seed'], ['fpn_reuse', 'fpn_reuse'], ['ppocr_cls', 'ppocr_cls']]) {
    const file = path.join(root, 'fixtures/models', name, 'model.onnx');
    const info = JSON.parse(fs.readFileSync(path.join(root, 'fixtures/models', name, 'info.json'), 'utf8'));
    const input = info.inputs?.[0]?.name ?? 'input';
    models[name] = { bytes: fs.readFileSync(file), npy: fs.readFileSync(path.join(root, 'fixtures/calib', calib, 'input_000.npy')), input };
  }
  const qatFloat = path.join(root, 'fixtures/models/seed_small_single/model.onnx');
  const qatDir = path.join(work, 'base-qat');
  const made = await runCli(['calibrate', qatFloat, '--calib', path.join(root, 'fixtures/calib/seed'), '--template', 'int8', '--out', qatDir], { timeout: 120, maxRss: 4096 });
  if (made.code !== 0) throw new Error(`cannot make the base qat.onnx: ${made.stderr}`);
  return { models, qat: fs.readFileSync(path.join(qatDir, 'qat.onnx')), qatFloat };
}

function summary(totals, kinds, opts, started) {
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const mix = [...kinds].map(([k, n]) => `${k} ${n}`).join(', ');
  return (
    `fuzz: ${totals.cases} cases (seed ${opts.seed}; ${mix}), ${totals.crash} crashes, ${totals.hang} hangs > ${opts.timeout} s, ` +
    `${totals.memory} over ${opts.maxRss} MB, max RSS ${(totals.maxRssKb / 1024).toFixed(0)} MB, ` +
    `max CPU ${totals.maxCpu.toFixed(1)} s, CPU ${totals.cpu.toFixed(0)} s, wall ${seconds} s`
  );
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(cliBin)) {
    console.error(`${cliBin} is missing: run npm run build first`);
    process.exit(2);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-fuzz-'));
  const started = Date.now();
  const base = await baseFiles(work);
  const indices = opts.only !== undefined ? [opts.only] : Array.from({ length: opts.n }, (_, i) => i);
  const totals = { cases: 0, ok: 0, crash: 0, hang: 0, memory: 0, maxRssKb: 0, maxCpu: 0, cpu: 0 };
  const failures = [];
  const kinds = new Map();
  const next = () => indices.shift();
  const worker = async () => {
    for (let index = next(); index !== undefined; index = next()) {
      const rng = new Rng(caseSeed(opts.seed, index));
      const dir = path.join(work, `case-${index}`);
      fs.mkdirSync(dir, { recursive: true });
      let c;
      try {
        c = makeCase(rng, base);
        for (const [name, bytes] of Object.entries(c.files)) {
          fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
          fs.writeFileSync(path.join(dir, name), bytes);
        }
        c.prepare?.(dir);
      } catch (error) {
        // A mutation the IR itself refuses to write is no case; note it and go on.
        kinds.set('skipped', (kinds.get('skipped') ?? 0) + 1);
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const args = c.args(dir);
      const result = await runCli(args, opts);
      const v = verdict(result);
      totals.cases++;
      totals[v]++;
      totals.maxRssKb = Math.max(totals.maxRssKb, result.rssKb);
      totals.maxCpu = Math.max(totals.maxCpu, result.cpu);
      totals.cpu += result.cpu;
      kinds.set(c.kind.split('/')[0], (kinds.get(c.kind.split('/')[0]) ?? 0) + 1);
      if (v !== 'ok') {
        failures.push({ index, kind: c.kind, verdict: v, code: result.code, signal: result.signal, args: args.join(' '), stderr: result.stderr.slice(0, 2000) });
        console.error(`case ${index} (${c.kind}): ${v}, exit ${result.code ?? result.signal}\n  quantkit ${args.join(' ')}\n  ${result.stderr.trim().split('\n').slice(0, 8).join('\n  ')}`);
      }
      if (!opts.keep || v === 'ok') fs.rmSync(dir, { recursive: true, force: true });
      if (totals.cases % 100 === 0) console.error(`progress: ${summary(totals, kinds, opts, started)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.jobs) }, worker));
  if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
  console.log(summary(totals, kinds, opts, started));
  process.exit(failures.length > 0 ? 1 : 0);
}

await main();
