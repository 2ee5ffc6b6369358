import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { buildQuantPlan } from './build-plan.js';
import { finalizePlan } from './finalize-plan.js';
import { applyOverrides, globToRegExp, loadQuantConfig, parseQuantConfig, type Override } from './overrides.js';
import { weightDtypeOf } from './quant-plan.js';
import { INT16W_TEMPLATE, INT8_TEMPLATE } from './templates.js';
import { errorOf } from '../testing/error-of.js';

const zeros = (...dims: number[]) => Tensor.fromArray(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);

/** x → conv1 + relu → Transpose → conv2 → Softmax → conv3 → out. */
function model() {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [1, 4, 8, 8]);
  const conv = (input: typeof x, name: string) =>
    b.node('Conv', [input, b.initializer(`${name}.w`, zeros(4, 4, 1, 1)), b.initializer(`${name}.b`, zeros(4))], {
      name: `/${name}/Conv`,
    })[0]!;
  const c1 = conv(x, 'conv1');
  const [a] = b.node('Relu', [c1], { name: '/conv1/Relu' });
  const [t] = b.node('Transpose', [a!], { name: '/t/Transpose', attributes: { perm: [0, 1, 3, 2] } });
  const c2 = conv(t!, 'conv2');
  const [s] = b.node('Softmax', [c2], { name: '/softmax/Softmax', attributes: { axis: 1 } });
  const out = conv(s!, 'conv3');
  b.output(out);
  const m = b.model();
  const { plan } = buildQuantPlan(m, INT8_TEMPLATE);
  const node = (name: string) => m.graph.nodes().find((n) => n.name === name)!;
  return { m, plan, x, a: a!, t: t!, c2, s: s!, out, node };
}

function apply(overrides: Override[]) {
  const g = model();
  const diagnostics = applyOverrides(g.m, g.plan, overrides, INT8_TEMPLATE);
  finalizePlan(g.m, g.plan);
  return { ...g, diagnostics };
}

describe('applyOverrides', () => {
  it('matches node names by glob and sets the dtype of a GEMM group output (any node of the group)', () => {
    const { plan, a } = apply([{ node: '/conv1/Rel?', dtype: 'qint16' }]);
    expect(plan.activations.get(a)?.dtype).toBe('qint16');
  });

  it('matches by op type', () => {
    const { plan, s, c2 } = apply([{ opType: 'Softmax', dtype: 'qint16' }]);
    expect(plan.activations.get(s)?.dtype).toBe('qint16');
    expect(plan.activations.get(c2)?.dtype).toBe('qint8');
  });

  it('lets the later override win', () => {
    const { plan, a, c2, t } = apply([
      { opType: 'Conv', dtype: 'qint16' },
      { node: '/conv1/*', dtype: 'qint8' },
    ]);
    expect(plan.activations.get(a)?.dtype).toBe('qint8');
    expect(plan.activations.get(c2)?.dtype).toBe('qint16');
    expect(plan.activations.get(t)).toMatchObject({ shareWith: a, dtype: 'qint8' });
  });

  it('gives a pass-through its own observer when its dtype differs from its source', () => {
    const { plan, t } = apply([{ node: '/t/Transpose', dtype: 'qint16' }]);
    expect(plan.activations.get(t)).toEqual({ value: t, dtype: 'qint16' });
  });

  it("float on an elementwise op: its output stays float; the GEMM after it reads a quantized copy", () => {
    const { plan, s, node } = apply([{ opType: 'Softmax', dtype: 'float' }]);
    expect(plan.float.has(s)).toBe(true);
    const copy = plan.activations.get(s)!;
    expect(copy.uses).toEqual([{ node: node('/conv3/Conv'), index: 0 }]);
    expect(copy.dtype).toBe('qint8');
  });

  it('float on a GEMM group: the output and the pass-throughs sharing it stay float; weights stay quantized', () => {
    const { plan, a, t, node } = apply([{ node: '/conv1/Conv', dtype: 'float' }]);
    expect([...plan.float]).toEqual([a, t]);
    expect(plan.activations.has(a)).toBe(false);
    expect(plan.groups.map((g) => g.node.name)).toContain('/conv1/Conv');
    expect(plan.activations.get(t)?.uses).toEqual([{ node: node('/conv2/Conv'), index: 0 }]);
  });

  it("float on a GEMM group: a sharer's quantized copy for the next GEMM keeps the group output's dtype", () => {
    const g = model();
    g.plan.activations.get(g.a)!.dtype = 'qint16';
    applyOverrides(g.m, g.plan, [{ node: '/conv1/Conv', dtype: 'float' }], INT8_TEMPLATE);
    finalizePlan(g.m, g.plan);
    expect(g.plan.activations.get(g.t)).toMatchObject({ dtype: 'qint16', uses: [{ node: g.node('/conv2/Conv'), index: 0 }] });
  });

  it('float then a later dtype on the same tensor quantizes it again', () => {
    const { plan, s } = apply([
      { opType: 'Softmax', dtype: 'float' },
      { node: '/softmax/*', dtype: 'qint16' },
    ]);
    expect(plan.float.size).toBe(0);
    expect(plan.activations.get(s)).toEqual({ value: s, dtype: 'qint16' });
  });

  it('keeps a high-precision output high precision under a dtype override, and says so', () => {
    const g = model();
    g.plan.activations.delete(g.out);
    g.plan.highPrecision.add(g.out);
    const diagnostics = applyOverrides(g.m, g.plan, [{ opType: 'Conv', dtype: 'qint16' }], INT8_TEMPLATE);
    expect(g.plan.activations.has(g.out)).toBe(false);
    expect(g.plan.highPrecision.has(g.out)).toBe(true);
    expect(diagnostics.map((d) => d.message)).toEqual([`${g.out.name} stays at high precision; a qint16 override does not lower it.`]);
  });

  it('is an error naming the override when it matches no node', () => {
    const error = errorOf(() => apply([{ node: 'linear3', dtype: 'float' }]));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.message).toBe('override #1 (node "linear3" → float) matches no node of the model.');
    expect(error.hint).toContain('Conv, Relu, Softmax, Transpose');
  });

  it('is an error when the matched nodes have no float activation output', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, [2]);
    const [shape] = b.node('Shape', [x], { name: 'shape' });
    b.output(shape!);
    const m = b.model();
    const { plan } = buildQuantPlan(m, INT8_TEMPLATE);
    const error = errorOf(() => applyOverrides(m, plan, [{ opType: 'Shape', dtype: 'qint16' }], INT8_TEMPLATE));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.message).toContain("matches only nodes with no float activation output ('shape' (Shape))");
  });

  it('rejects an override with neither node nor opType', () => {
    expect(errorOf(() => apply([{ dtype: 'qint8' }])).message).toContain('needs `node`');
  });

  it('rejects an unknown key of an override given in code, with the hint the config file gets', () => {
    const error = errorOf(() => apply([{ node: '/conv1/Conv', dtype: 'qint8', type: 'Conv' } as Override]));
    expect(error.message).toContain('unknown key `override #1.type`');
    expect(error.hint).toContain('Check the spelling');
  });
});

describe('applyOverrides: weight', () => {
  /** The model with conv3's output at high precision, as the high-precision-output pass leaves it. */
  function highPrecisionTail() {
    const g = model();
    g.plan.activations.delete(g.out);
    g.plan.highPrecision.add(g.out);
    return g;
  }
  const weightOf = (g: ReturnType<typeof model>, name: string) =>
    weightDtypeOf(g.plan, g.plan.groups.find((group) => group.node.name === name)!);

  it('sets the weight type of the named GEMM only; the others keep the template\'s', () => {
    const g = apply([{ node: '/conv2/Conv', weight: 'qint16' }]);
    expect(['/conv1/Conv', '/conv2/Conv', '/conv3/Conv'].map((n) => weightOf(g, n))).toEqual(['qint8', 'qint16', 'qint8']);
    expect(g.plan.activations.get(g.c2)?.dtype).toBe('qint8');
  });

  it('a node of the group (its fused Relu) stands for the group; `dtype` and `weight` apply together', () => {
    const g = apply([{ node: '/conv1/Relu', dtype: 'qint16', weight: 'qint16' }]);
    expect(weightOf(g, '/conv1/Conv')).toBe('qint16');
    expect(g.plan.activations.get(g.a)?.dtype).toBe('qint16');
  });

  it('refuses qint16 on a GEMM with a high-precision output, naming the node and the rule', () => {
    const g = highPrecisionTail();
    const error = errorOf(() => applyOverrides(g.m, g.plan, [{ node: '/conv3/Conv', weight: 'qint16' }], INT8_TEMPLATE));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.subject).toBe('/conv3/Conv');
    expect(error.message).toContain("override #1 (node \"/conv3/Conv\" → weight qint16) asks for qint16 weights, but '/conv3/Conv' (Conv) has a high-precision output");
    expect(error.message).toContain('a GEMM with a high-precision output keeps qint8 weights');
  });

  it('refuses qint16 weights with a float output: a float override makes the output high precision', () => {
    const error = errorOf(() => apply([{ node: '/conv2/Conv', dtype: 'float', weight: 'qint16' }]));
    expect(error.message).toContain('keeps qint8 weights');
  });

  it('a glob or op type skips high-precision GEMMs with an info and raises the others', () => {
    const g = highPrecisionTail();
    const diagnostics = applyOverrides(g.m, g.plan, [{ opType: 'Conv', weight: 'qint16' }], INT8_TEMPLATE);
    expect(['/conv1/Conv', '/conv2/Conv', '/conv3/Conv'].map((n) => weightOf(g, n))).toEqual(['qint16', 'qint16', 'qint8']);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ level: 'info', node: '/conv3/Conv' });
  });

  it('refuses `weight` on a node that is no GEMM, by name or by op type, naming it', () => {
    const byName = errorOf(() => apply([{ node: '/softmax/Softmax', weight: 'qint16' }]));
    expect(byName.code).toBe('QK_CONFIG');
    expect(byName.subject).toBe('/softmax/Softmax');
    expect(byName.message).toContain("sets a weight type on '/softmax/Softmax' (Softmax), but it is not a GEMM-like op");
    expect(errorOf(() => apply([{ opType: 'Transpose', weight: 'qint8' }])).message).toContain("'/t/Transpose' (Transpose)");
  });

  it('a glob over GEMMs and other ops raises the GEMMs', () => {
    const g = apply([{ node: '/conv1/*', weight: 'qint16' }]);
    expect(weightOf(g, '/conv1/Conv')).toBe('qint16');
  });

  it('finalizePlan gives a template\'s qint16 weights back to qint8 on high-precision outputs, with one info', () => {
    const g = model();
    const { plan } = buildQuantPlan(g.m, INT16W_TEMPLATE);
    plan.activations.delete(g.out);
    plan.highPrecision.add(g.out);
    const diagnostics = finalizePlan(g.m, plan);
    const names = plan.groups.map((group) => `${group.node.name}:${weightDtypeOf(plan, group)}`);
    expect(names).toEqual(['/conv1/Conv:qint16', '/conv2/Conv:qint16', '/conv3/Conv:qint8']);
    expect(diagnostics.map((d) => d.message)).toEqual(['1 GEMM with a high-precision output keeps qint8 weights (/conv3/Conv).']);
  });
});

describe('globToRegExp', () => {
  it('matches whole names with * and ?, everything else literal', () => {
    expect(globToRegExp('/linear3/*').test('/linear3/MatMul')).toBe(true);
    expect(globToRegExp('/linear3/*').test('x/linear3/MatMul')).toBe(false);
    expect(globToRegExp('a.b?').test('a.bc')).toBe(true);
    expect(globToRegExp('a.b?').test('axbc')).toBe(false);
    expect(globToRegExp('(x)[1]').test('(x)[1]')).toBe(true);
  });
});

describe('parseQuantConfig', () => {
  it('accepts a full config', () => {
    const config = parseQuantConfig({
      template: 'int16',
      reusedOutputs: 'quantize',
      overrides: [{ node: '/head/*', dtype: 'float' }, { opType: 'Softmax', dtype: 'qint16' }],
    });
    expect(config).toEqual({
      template: 'int16',
      reusedOutputs: 'quantize',
      overrides: [{ node: '/head/*', dtype: 'float' }, { opType: 'Softmax', dtype: 'qint16' }],
    });
  });

  it('accepts `weight` alone or with `dtype`', () => {
    const overrides = [
      { node: '/layer1/*', weight: 'qint16' },
      { opType: 'Conv', dtype: 'qint16', weight: 'qint16' },
      { node: 'fc', weight: 'qint8' },
    ];
    expect(parseQuantConfig({ template: 'int16w', overrides })).toEqual({ template: 'int16w', overrides });
  });

  it.each([
    [{ templat: 'int8' }, 'cfg.json: unknown key `templat` (known keys: template, reusedOutputs, overrides).'],
    [{ overrides: [{ node: 'a', weights: 'qint16' }] }, 'unknown key `overrides[0].weights` (known keys: node, opType, dtype, weight)'],
    [{ overrides: [{ node: 'a', dtype: 'qint8', optype: 'Add' }] }, 'unknown key `overrides[0].optype`'],
    [{ template: 'int4' }, '`template` must be one of int8, int16, int16w (got "int4")'],
    [{ reusedOutputs: 'yes' }, '`reusedOutputs` must be one of rescale, quantize'],
    [{ overrides: {} }, '`overrides` must be an array'],
    [{ overrides: [{ node: 'a', dtype: 'int8' }] }, '`overrides[0].dtype` must be one of qint8, qint16, float (got "int8")'],
    [{ overrides: [{ dtype: 'float' }] }, '`overrides[0]` needs `node`'],
    [{ overrides: [{ node: 'a' }] }, '`overrides[0]` needs `dtype` (the output activation type) or `weight`'],
    [{ overrides: [{ node: 'a', weight: 'int16' }] }, '`overrides[0].weight` must be one of qint8, qint16 (got "int16")'],
    [{ overrides: [{ node: 'a', weight: 'float' }] }, '`overrides[0].weight` must be one of qint8, qint16 (got "float")'],
    [{ overrides: [{ node: 3, dtype: 'float' }] }, '`overrides[0].node` must be a non-empty string'],
    [[], 'the top level must be a JSON object'],
  ])('rejects %j', (data, message) => {
    const error = errorOf(() => parseQuantConfig(data, 'cfg.json'));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.subject).toBe('cfg.json');
    expect(error.message).toContain(message);
  });
});

describe('loadQuantConfig', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quantkit-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and validates a file, naming it in errors', async () => {
    const good = join(dir, 'good.json');
    await writeFile(good, JSON.stringify({ template: 'int8', overrides: [{ opType: 'Softmax', dtype: 'qint16' }] }));
    expect(await loadQuantConfig(good)).toEqual({ template: 'int8', overrides: [{ opType: 'Softmax', dtype: 'qint16' }] });

    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ override: [] }));
    await expect(loadQuantConfig(bad)).rejects.toMatchObject({ code: 'QK_CONFIG', message: expect.stringContaining(`${bad}: unknown key \`override\``) });
  });

  it('reports invalid JSON and a missing file', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ "template": ');
    await expect(loadQuantConfig(broken)).rejects.toMatchObject({ code: 'QK_CONFIG', message: expect.stringContaining(`${broken} is not valid JSON`) });
    await expect(loadQuantConfig(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'QK_FILE_NOT_FOUND' });
  });
});
