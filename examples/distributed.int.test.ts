import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '@quantkit/core';

// docs/distributed.md's Kubernetes and Slurm examples, played on this machine: the manifests' and scripts' own
// commands run as the engines would run them — N processes of the built CLI, each with the variables its engine
// sets — and the merged result is compared with one process over all the data.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const examples = path.join(root, 'examples');
const bin = path.join(root, 'packages/cli/bin/quantkit.js');
const model = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
const seedCalib = path.join(root, 'fixtures/calib/seed');

let work: string;
/** A folder holding a `quantkit` command that runs the built CLI, as `npm install -g @quantkit/cli` would. */
let binDir: string;

/** The test's own environment without any batch system's variables (the suite may itself run in a Job or array). */
function cleanEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(SLURM_|JOB_COMPLETION_INDEX$|QUANTKIT_SHARDS$)/.test(key)) env[key] = value;
  }
  env.PATH = `${binDir}${path.delimiter}${env.PATH ?? ''}`;
  return env;
}

function run(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { env, cwd, timeout: 120_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed: ${stderr}`)) : resolve({ stderr }),
    ),
  );
}

/** A shared folder as both examples expect it: model.onnx and calib/ (8 samples: the seed's 4 and 4 scaled). */
function sharedFolder(name: string): string {
  const folder = path.join(work, name);
  fs.mkdirSync(path.join(folder, 'calib'), { recursive: true });
  fs.copyFileSync(model, path.join(folder, 'model.onnx'));
  for (const file of fs.readdirSync(seedCalib).sort()) {
    const bytes = fs.readFileSync(path.join(seedCalib, file));
    fs.writeFileSync(path.join(folder, 'calib', file), bytes);
    const sample = parseNpy(bytes);
    const scaled = Float32Array.from(sample.data as Float32Array, (x) => x * 1.75);
    fs.writeFileSync(path.join(folder, 'calib', file.replace('input_', 'scaled_')), encodeNpy({ ...sample, data: scaled }));
  }
  return folder;
}

const read = (file: string) => fs.readFileSync(file);

let single: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-distributed-'));
  binDir = path.join(work, 'bin');
  fs.mkdirSync(binDir);
  fs.writeFileSync(path.join(binDir, 'quantkit'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`, { mode: 0o755 });
  // One process over all the data: what every distributed run must reproduce byte for byte.
  const folder = sharedFolder('single');
  single = path.join(folder, 'out');
  const result = spawnSync(process.execPath, [bin, 'calibrate', path.join(folder, 'model.onnx'), '--calib', path.join(folder, 'calib'), '--out', single], {
    encoding: 'utf8',
    env: cleanEnvironment(),
  });
  expect(result.status, result.stderr).toBe(0);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The merged calib.json, and calib.json / qat.onnx of the merge step's calibrate --from-calib, equal one run's. */
function expectSameAsOneProcess(folder: string): void {
  expect(read(path.join(folder, 'calib.json')).equals(read(path.join(single, 'calib.json')))).toBe(true);
  expect(read(path.join(folder, 'out/calib.json')).equals(read(path.join(single, 'calib.json')))).toBe(true);
  expect(read(path.join(folder, 'out/qat.onnx')).equals(read(path.join(single, 'qat.onnx')))).toBe(true);
  expect(JSON.parse(read(path.join(folder, 'calib.json')).toString()).samples).toBe(8);
}

interface Container {
  command: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
}

function jobManifest(file: string) {
  const job = parse(fs.readFileSync(path.join(examples, 'kubernetes', file), 'utf8'));
  const container: Container = job.spec.template.spec.containers[0];
  return { spec: job.spec as { completionMode?: string; completions?: number }, container };
}

/**
 * Runs a Job's container as its pod `index` would, with the shared volume at `folder`: the container's command and
 * args (the volume's mount path mapped to `folder`), its env, and JOB_COMPLETION_INDEX as the Job controller sets it.
 */
function runPod(container: Container, folder: string, index?: number) {
  const mount = container.volumeMounts[0]!.mountPath;
  const map = (text: string) => text.replaceAll(`${mount}/`, `${folder}/`);
  const env = cleanEnvironment();
  for (const { name, value } of container.env ?? []) env[name] = value;
  if (index !== undefined) env.JOB_COMPLETION_INDEX = String(index);
  const [command, ...args] = [...container.command, ...(container.args ?? [])].map(map);
  return run(command!, args, env, folder);
}

/** The array's task ids from `#SBATCH --array=a-b[:step]`, and the variables Slurm sets in each task. */
function slurmArray(script: string) {
  const spec = /^#SBATCH --array=(\d+)-(\d+)(?::(\d+))?$/m.exec(script);
  expect(spec, 'calibrate.sbatch sets --array=a-b').not.toBeNull();
  const [min, max, step] = [Number(spec![1]), Number(spec![2]), Number(spec![3] ?? 1)];
  const ids: number[] = [];
  for (let id = min; id <= max; id += step) ids.push(id);
  const variables = (id: number) => ({
    SLURM_ARRAY_JOB_ID: '4242',
    SLURM_JOB_ID: String(4243 + id),
    SLURM_ARRAY_TASK_ID: String(id),
    SLURM_ARRAY_TASK_COUNT: String(ids.length),
    SLURM_ARRAY_TASK_MIN: String(min),
    SLURM_ARRAY_TASK_MAX: String(max),
    SLURM_ARRAY_TASK_STEP: String(step),
  });
  return { ids, variables };
}

describe('examples/kubernetes: a 4-pod indexed Job, then the merge Job', () => {
  it('gives the bytes of one process', async () => {
    const calibrate = jobManifest('calibrate-job.yaml');
    expect(calibrate.spec.completionMode).toBe('Indexed');
    const pods = calibrate.spec.completions!;
    expect(pods).toBe(4);
    // The completions reach the pods only through QUANTKIT_SHARDS: the two must agree.
    expect(calibrate.container.env?.find((e) => e.name === 'QUANTKIT_SHARDS')?.value).toBe(String(pods));
    const folder = sharedFolder('kubernetes');
    const logs = await Promise.all(Array.from({ length: pods }, (_, k) => runPod(calibrate.container, folder, k)));
    logs.forEach(({ stderr }, k) => expect(stderr).toContain(`shard ${k}/4 from a Kubernetes indexed Job (JOB_COMPLETION_INDEX=${k}, QUANTKIT_SHARDS=4)`));
    await runPod(jobManifest('merge-job.yaml').container, folder);
    expectSameAsOneProcess(folder);
  });
});

describe('examples/slurm: a 4-task array, then the dependent merge', () => {
  it('gives the bytes of one process', async () => {
    const script = path.join(examples, 'slurm/calibrate.sbatch');
    const { ids, variables } = slurmArray(fs.readFileSync(script, 'utf8'));
    expect(ids).toHaveLength(4);
    const folder = sharedFolder('slurm');
    const env = (extra: Record<string, string>) => ({ ...cleanEnvironment(), WORK: folder, ...extra });
    const logs = await Promise.all(ids.map((id) => run('bash', [script], env(variables(id)), folder)));
    logs.forEach(({ stderr }, k) => expect(stderr).toContain(`shard ${k}/4 from a Slurm job array (SLURM_ARRAY_TASK_ID=${ids[k]}, SLURM_ARRAY_TASK_COUNT=4)`));
    await run('bash', [path.join(examples, 'slurm/merge.sbatch')], env({ SLURM_JOB_ID: '4300' }), folder);
    expectSameAsOneProcess(folder);
  });

  it('submit.sh queues the merge after every task of the array', () => {
    const submit = fs.readFileSync(path.join(examples, 'slurm/submit.sh'), 'utf8');
    expect(submit).toMatch(/^array=\$\(sbatch --parsable calibrate\.sbatch\)$/m);
    expect(submit).toMatch(/^sbatch --dependency=afterok:"\$\{array%%;\*\}" merge\.sbatch$/m);
  });
});

describe('docs/distributed.md', () => {
  it('shows the files the tests run, verbatim', () => {
    const doc = fs.readFileSync(path.join(root, 'docs/distributed.md'), 'utf8');
    for (const file of [
      'kubernetes/calibrate-job.yaml',
      'kubernetes/merge-job.yaml',
      'slurm/calibrate.sbatch',
      'slurm/merge.sbatch',
      'slurm/submit.sh',
      'kubernetes/sensitivity-job.yaml',
      'kubernetes/sensitivity-merge-job.yaml',
      'slurm/sensitivity.sbatch',
      'slurm/sensitivity-merge.sbatch',
    ]) {
      expect(doc, file).toContain(fs.readFileSync(path.join(examples, file), 'utf8'));
    }
  });
});

describe('sensitivity: the same engines split the candidates, and the merge gives the bytes of one process', () => {
  let one: Buffer;
  beforeAll(() => {
    const folder = sharedFolder('sensitivity-single');
    const args = [bin, 'sensitivity', path.join(folder, 'model.onnx'), '--calib', path.join(folder, 'calib'), '--march', 'nash-m', '--out', path.join(folder, 'out')];
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', env: cleanEnvironment() });
    expect(result.status, result.stderr).toBe(0);
    one = read(path.join(folder, 'out/sensitivity.json'));
  });

  it('a 4-pod indexed Job (sensitivity-job.yaml), then sensitivity-merge-job.yaml', async () => {
    const job = jobManifest('sensitivity-job.yaml');
    expect(job.spec.completionMode).toBe('Indexed');
    expect(job.spec.completions).toBe(4);
    expect(job.container.env?.find((e) => e.name === 'QUANTKIT_SHARDS')?.value).toBe('4');
    const folder = sharedFolder('sensitivity-kubernetes');
    const logs = await Promise.all([0, 1, 2, 3].map((k) => runPod(job.container, folder, k)));
    logs.forEach(({ stderr }, k) => expect(stderr).toContain(`shard ${k}/4 from a Kubernetes indexed Job`));
    await runPod(jobManifest('sensitivity-merge-job.yaml').container, folder);
    expect(read(path.join(folder, 'sensitivity.json')).equals(one)).toBe(true);
  });

  it('a 4-task Slurm array (sensitivity.sbatch), then sensitivity-merge.sbatch', async () => {
    const script = path.join(examples, 'slurm/sensitivity.sbatch');
    const { ids, variables } = slurmArray(fs.readFileSync(script, 'utf8'));
    expect(ids).toHaveLength(4);
    const folder = sharedFolder('sensitivity-slurm');
    const env = (extra: Record<string, string>) => ({ ...cleanEnvironment(), WORK: folder, ...extra });
    const logs = await Promise.all(ids.map((id) => run('bash', [script], env(variables(id)), folder)));
    logs.forEach(({ stderr }, k) => expect(stderr).toContain(`shard ${k}/4 from a Slurm job array`));
    await run('bash', [path.join(examples, 'slurm/sensitivity-merge.sbatch')], env({ SLURM_JOB_ID: '4301' }), folder);
    expect(read(path.join(folder, 'sensitivity.json')).equals(one)).toBe(true);
  });
});
