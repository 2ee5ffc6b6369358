import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, GraphBuilder, loadModel, Tensor } from '@quantkit/core';
import { repoRoot as root, runQuantkit as quantkit } from './testing/run-cli.js';

// These tests run the built CLI (`npm test` builds first), as a user would.
const seedReuse = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');


let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-cli-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('quantkit inspect', () => {
  it('summarises the seed model: inputs, outputs, ops and GEMM-like nodes', () => {
    const { code, stdout } = quantkit('inspect', seedReuse);
    expect(code).toBe(0);
    expect(stdout).toMatch(/input\s+float32\s+\[2, 100, 256\]/);
    expect(stdout).toMatch(/z\s+float32\s+\[2, 100, 60\]/);
    expect(stdout).toMatch(/y\s+float32\s+\[2, 100, 60\]/);
    expect(stdout).toContain('/linear3/MatMul');
  });

  it('prints the same facts as JSON with --json', () => {
    const { code, stdout } = quantkit('inspect', seedReuse, '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    const model = loadModel(seedReuse);
    expect(report.outputs.map((o: { name: string }) => o.name)).toEqual(model.graph.outputs.map((v) => v.name));
    expect(report.ops.MatMul).toBe(3);
    expect(report.gemmLike).toHaveLength(3);
    expect(report.parameters).toBe([...model.graph.initializers.values()].reduce((n, v) => n + v.constValue!.size, 0));
  });

  const badCases: [string, () => string, string][] = [
    ['an empty file', () => write('empty.onnx', new Uint8Array(0)), 'QK_FILE_EMPTY'],
    ['a truncated model', () => write('truncated.onnx', fs.readFileSync(seedReuse).subarray(0, 50_000)), 'QK_MODEL_DECODE'],
    ['a random non-ONNX file', () => write('random.onnx', pseudoRandomBytes(4096)), 'QK_MODEL_'],
    ['a missing file', () => path.join(work, 'nope.onnx'), 'QK_FILE_NOT_FOUND'],
  ];
  for (const [what, make, code] of badCases) {
    it(`fails with exit 1 and a clear message for ${what}`, () => {
      const file = make();
      const result = quantkit('inspect', file);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(code);
      expect(result.stderr).toContain(path.basename(file));
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stdout).toBe('');
    });
  }

  function modelWithExternalWeight(folder: string, location: string): string {
    const b = new GraphBuilder('g');
    const x = b.input('x', 1, [4]);
    const w = b.initializer('w', Tensor.fromArray(new Float32Array(4), [4]));
    const [y] = b.node('Add', [x, w]);
    b.output(y!, 1, [4]);
    const bytes = encodeModel(b.model(), {
      tensorProto: (_tensor, name) =>
        name === 'w'
          ? { name, dims: [4], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: location }] }
          : undefined,
    });
    const file = path.join(folder, 'escape.onnx');
    fs.writeFileSync(file, bytes);
    return file;
  }

  it('refuses external data at ../../etc/passwd with exit 1', () => {
    const file = modelWithExternalWeight(fs.mkdtempSync(path.join(work, 'ext-')), '../../etc/passwd');
    const result = quantkit('inspect', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('QK_EXTERNAL_DATA_PATH');
    expect(result.stderr).toContain('escape.onnx');
    expect(result.stderr).toContain('../../etc/passwd');
  });

  it('never opens the file an escaping location names', () => {
    // A FIFO blocks whoever opens it for reading, so a read would hang the CLI into the spawn timeout.
    const folder = fs.mkdtempSync(path.join(work, 'fifo-'));
    const fifo = path.join(work, `outside-${path.basename(folder)}.fifo`);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const file = modelWithExternalWeight(folder, `../${path.basename(fifo)}`);
    const result = quantkit('inspect', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('QK_EXTERNAL_DATA_PATH');
  });

  it('turns --verbose on for stacks', () => {
    const result = quantkit('inspect', write('empty2.onnx', new Uint8Array(0)), '--verbose');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^\s+at /m);
  });
});

describe('usage errors', () => {
  it('exits 2 with a usage hint on an unknown flag', () => {
    const result = quantkit('inspect', seedReuse, '--frobnicate');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--frobnicate'");
    expect(result.stderr).toContain('quantkit inspect --help');
  });

  it('exits 2 on an unknown verb', () => {
    const result = quantkit('frobnicate');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });

  it('exits 2 when the model argument is missing', () => {
    expect(quantkit('inspect').code).toBe(2);
  });

  it('prints help with exit 0', () => {
    const result = quantkit('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('inspect');
  });

  it('with no verb prints the usage on stderr and exits 2', () => {
    const result = quantkit();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: quantkit');
    expect(result.stdout).toBe('');
  });

  it('-V prints the version of the package', () => {
    const result = quantkit('-V');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(root, 'packages/cli/package.json'), 'utf8')).version);
  });
});

describe('help for every verb', () => {
  /** The verbs `quantkit --help` lists. */
  const verbs = (() => {
    const help = quantkit('--help').stdout;
    const commands = help.slice(help.indexOf('Commands:'));
    return [...commands.matchAll(/^ {2}([a-z][a-z-]*) /gm)].map((m) => m[1]!).filter((verb) => verb !== 'help');
  })();

  it('lists the verbs this issue adds and the earlier ones', () => {
    expect(verbs).toEqual(expect.arrayContaining(['inspect', 'calibrate', 'merge-calib', 'compare', 'plugins']));
  });

  it("the README's verb table has a row for every verb, and no verb the CLI lacks", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `quantkit ([a-z-]+)[ `]/gm)].map((m) => m[1]);
    expect([...new Set(rows)].sort()).toEqual([...verbs].sort());
  });

  // Valid arguments otherwise: commander reports a missing required option before an unknown one.
  const required: Record<string, string[]> = {
    inspect: [seedReuse],
    calibrate: [seedReuse, '--random', '1', '--out', 'never'],
    'merge-calib': ['a.json', '--out', 'never.json'],
    compare: [seedReuse, seedReuse, '--random', '1'],
    plugins: [],
  };
  for (const verb of Object.keys(required)) {
    it(`${verb} --help prints its usage and options on stdout, exit 0; help ${verb} prints the same`, () => {
      const result = quantkit(verb, '--help');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: quantkit ${verb} `));
      expect(result.stdout).toContain('-h, --help');
      expect(quantkit('help', verb).stdout).toBe(result.stdout);
    });

    it(`${verb} with an unknown flag: usage error naming the verb's help, exit 2`, () => {
      const result = quantkit(verb, ...required[verb]!, '--no-such-flag');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("unknown option '--no-such-flag'");
      expect(result.stderr).toContain(`quantkit ${verb} --help`);
    });
  }

  it('each verb documents the options it takes', () => {
    const expected: Record<string, string[]> = {
      inspect: ['--input-shape', '--config', '--plugin', '--json'],
      canonicalize: ['--input-shape', '--config', '--plugin', '--out', '--print-pipeline', '--json'],
      calibrate: ['--calib', '--random', '--seed', '--template', '--observer', '--reused-outputs', '--input-shape', '--config', '--plugin', '--workers', '--shard', '--from-calib', '--out', '--print-pipeline', '--json'],
      'merge-calib': ['--out', '--config', '--plugin'],
      compare: ['--calib', '--random', '--seed', '--input-shape', '--json'],
      plugins: ['--config', '--plugin', '--json'],
    };
    for (const [verb, flags] of Object.entries(expected)) {
      const help = quantkit(verb, '--help').stdout;
      for (const flag of flags) expect(help, `${verb} --help`).toMatch(new RegExp(`^\\s+(-\\w, )?${flag}\\b`, 'm'));
    }
  });
});

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function pseudoRandomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let state = 0x2545f491;
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}
