import { readConfigFile } from '../config/read-config-file.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { inferElemTypes, isFloatType } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Use, Value } from '../ir/value.js';
import type { QuantTemplate } from '../march/template.js';
import type { PassDiagnostic } from '../pass/pass.js';
import { staticValues } from './constants.js';
import { hasHighPrecisionOutput, WEIGHT_DTYPES, type ActivationDtype, type GemmGroup, type QuantPlan, type WeightDtype } from './quant-plan.js';
import { BUILTIN_TEMPLATES } from './templates.js';

export type OverrideDtype = ActivationDtype | 'float';
export const OVERRIDE_DTYPES: readonly OverrideDtype[] = ['qint8', 'qint16', 'float'];

/** How a GEMM output that is both a graph output and read by other ops is treated (DESIGN §6). */
export type ReusedOutputs = 'rescale' | 'quantize';
export const REUSED_OUTPUTS: readonly ReusedOutputs[] = ['rescale', 'quantize'];

/**
 * One override (Horizon's ModuleNameQconfigSetter): the nodes whose name matches `node` (exact, or a glob with
 * `*` and `?`) and whose op type is `opType` — at least one of the two — get output activations of `dtype`
 * and / or, GEMM-like nodes only, constant weights of `weight` — at least one of the two.
 */
export interface Override {
  readonly node?: string;
  readonly opType?: string;
  readonly dtype?: OverrideDtype;
  readonly weight?: WeightDtype;
}

/** The JSON config file of `quantkit calibrate --config`. */
export interface QuantConfig {
  template?: string;
  reusedOutputs?: ReusedOutputs;
  overrides?: Override[];
}

const CONFIG_KEYS = ['template', 'reusedOutputs', 'overrides'] as const;
const OVERRIDE_KEYS = ['node', 'opType', 'dtype', 'weight'] as const;

/** Reads and validates a config file; errors name the file and the offending key. */
export async function loadQuantConfig(path: string, templates: readonly QuantTemplate[] = BUILTIN_TEMPLATES): Promise<QuantConfig> {
  return parseQuantConfig(readConfigFile(path).data, path, templates);
}

/** Validates parsed JSON as a QuantConfig; `source` names it in errors (a file path). Unknown keys are errors. */
export function parseQuantConfig(
  data: unknown,
  source = 'the quantization config',
  templates: readonly QuantTemplate[] = BUILTIN_TEMPLATES,
): QuantConfig {
  const fail = (key: string, message: string, hint?: string): never => {
    throw new QuantkitError('QK_CONFIG', `${source}: ${key} ${message}`, { subject: source, hint });
  };
  if (!isRecord(data)) return fail('the top level', 'must be a JSON object.');
  checkKeys(data, CONFIG_KEYS, '', fail);
  const config: QuantConfig = {};
  if (data.template !== undefined) {
    const names = templates.map((t) => t.name);
    if (typeof data.template !== 'string' || !names.includes(data.template)) {
      fail('`template`', `must be one of ${names.join(', ')} (got ${JSON.stringify(data.template)}).`);
    }
    config.template = data.template as string;
  }
  if (data.reusedOutputs !== undefined) {
    if (!REUSED_OUTPUTS.includes(data.reusedOutputs as ReusedOutputs)) {
      fail('`reusedOutputs`', `must be one of ${REUSED_OUTPUTS.join(', ')} (got ${JSON.stringify(data.reusedOutputs)}).`);
    }
    config.reusedOutputs = data.reusedOutputs as ReusedOutputs;
  }
  if (data.overrides !== undefined) {
    if (!Array.isArray(data.overrides)) return fail('`overrides`', 'must be an array.');
    config.overrides = data.overrides.map((entry, i) => parseOverride(entry, `overrides[${i}]`, fail));
  }
  return config;
}

type Fail = (key: string, message: string, hint?: string) => never;

function parseOverride(entry: unknown, where: string, fail: Fail): Override {
  if (!isRecord(entry)) return fail(`\`${where}\``, 'must be an object like { "node": "/head/*", "dtype": "qint16" }.');
  checkKeys(entry, OVERRIDE_KEYS, `${where}.`, fail);
  for (const key of ['node', 'opType'] as const) {
    if (entry[key] !== undefined && (typeof entry[key] !== 'string' || entry[key] === '')) {
      fail(`\`${where}.${key}\``, `must be a non-empty string (got ${JSON.stringify(entry[key])}).`);
    }
  }
  if (entry.node === undefined && entry.opType === undefined) {
    fail(`\`${where}\``, 'needs `node` (a name or glob) or `opType`, or both.');
  }
  if (entry.dtype === undefined && entry.weight === undefined) {
    fail(`\`${where}\``, 'needs `dtype` (the output activation type) or `weight` (the weight type of a GEMM), or both.');
  }
  if (entry.dtype !== undefined && !OVERRIDE_DTYPES.includes(entry.dtype as OverrideDtype)) {
    fail(`\`${where}.dtype\``, `must be one of ${OVERRIDE_DTYPES.join(', ')} (got ${JSON.stringify(entry.dtype)}).`);
  }
  if (entry.weight !== undefined && !WEIGHT_DTYPES.includes(entry.weight as WeightDtype)) {
    fail(`\`${where}.weight\``, `must be one of ${WEIGHT_DTYPES.join(', ')} (got ${JSON.stringify(entry.weight)}).`);
  }
  const override: { node?: string; opType?: string; dtype?: OverrideDtype; weight?: WeightDtype } = {};
  if (entry.node !== undefined) override.node = entry.node as string;
  if (entry.opType !== undefined) override.opType = entry.opType as string;
  if (entry.dtype !== undefined) override.dtype = entry.dtype as OverrideDtype;
  if (entry.weight !== undefined) override.weight = entry.weight as WeightDtype;
  return override;
}

function checkKeys(record: Record<string, unknown>, known: readonly string[], prefix: string, fail: Fail): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) fail(`unknown key \`${prefix}${key}\``, `(known keys: ${known.join(', ')}).`, 'Check the spelling; keys are case-sensitive.');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A glob over node names: `*` any run of characters, `?` one character, everything else literal. */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

export function describeOverride(override: Override, index: number): string {
  const parts = [
    override.node !== undefined ? `node ${JSON.stringify(override.node)}` : undefined,
    override.opType !== undefined ? `opType ${JSON.stringify(override.opType)}` : undefined,
  ].filter(Boolean);
  const sets = [
    override.dtype !== undefined ? override.dtype : undefined,
    override.weight !== undefined ? `weight ${override.weight}` : undefined,
  ].filter(Boolean);
  return `override #${index + 1} (${parts.join(', ')} → ${sets.join(', ')})`;
}

/**
 * Applies overrides to a prepared plan, after the prepare passes, so they win; among overrides the later one
 * wins for a tensor. A node of a GEMM group stands for the group: the override applies to the group's output.
 * - `qint8` / `qint16` sets the dtype of the tensor's quantization wherever it is quantized (also a reused
 *   output's quantized copy). A pass-through output given a dtype other than its source's gets its own
 *   observer. A high-precision output stays high precision: it is at least as precise as either dtype
 *   (reported as info).
 * - `float` removes the tensor's quantization and adds it to `plan.float` (and takes it out of
 *   `plan.highPrecision`). Pass-through outputs that shared its scale become float too. Graph outputs and
 *   non-GEMM consumers (VPU islands, CPU ops, pass-throughs) read it in float; a GEMM group reading it as an
 *   activation operand runs on the BPU, which cannot read float, so it reads a quantized copy — an
 *   ActivationQuant with `uses` limited to those inputs, as for a reused output.
 *   For a GEMM group this is its output only: its weights stay int8 per channel and its input stays quantized,
 *   so the group is lowered like a high-precision output (int32 + dequantize on nash-m, float32 on nash-h).
 * - `weight` sets the constant weight type of the GEMM groups of the matched nodes, after every `dtype` has been
 *   applied (a `float` output is a high-precision output). `qint16` on a group whose output is high precision
 *   (hasHighPrecisionOutput: the seed's model-output rule, a reused output, a float override) is refused, naming
 *   the node and the rule — except that a glob or an `opType` override skips such groups (reported as info) as
 *   long as it raises at least one. A node that is not part of a GEMM group with a constant weight is refused
 *   when the override names it exactly or by `opType`; a glob that matches no such node at all is refused.
 * An override that matches no node, or (`dtype`) only nodes with no float activation output, is a QK_CONFIG error.
 */
export function applyOverrides(
  model: Model,
  plan: QuantPlan,
  overrides: readonly Override[],
  template: QuantTemplate,
): PassDiagnostic[] {
  if (overrides.length === 0) return [];
  const graph = model.graph;
  const fail: Fail = (key, message, hint) => {
    throw new QuantkitError('QK_CONFIG', `${key} ${message}`, { hint });
  };
  const valid = overrides.map((o, i) => parseOverride(o, `override #${i + 1}`, fail));
  const types = inferElemTypes(graph);
  const statics = staticValues(graph);
  const groupOf = new Map<Node, GemmGroup>();
  for (const group of plan.groups) for (const node of group.nodes) groupOf.set(node, group);
  const nodes = graph.nodes();

  const matchedBy = valid.map((override, index) => {
    const pattern = override.node === undefined ? undefined : globToRegExp(override.node);
    const matched = nodes.filter(
      (n) => (pattern === undefined || pattern.test(n.name)) && (override.opType === undefined || n.opType === override.opType),
    );
    if (matched.length === 0) {
      const opTypes = [...new Set(nodes.map((n) => n.opType))].sort().join(', ');
      const sample = nodes.slice(0, 3).map((n) => JSON.stringify(n.name)).join(', ');
      throw new QuantkitError('QK_CONFIG', `${describeOverride(override, index)} matches no node of the model.`, {
        hint: `Node names are matched whole (PyTorch exports names like ${sample}; use a glob such as "/linear3/*"). Op types in the model: ${opTypes}.`,
        subject: override.node ?? override.opType,
      });
    }
    return matched;
  });

  const decided = new Map<Value, OverrideDtype>();
  valid.forEach((override, index) => {
    if (override.dtype === undefined) return;
    const matched = matchedBy[index]!;
    const what = describeOverride(override, index);
    const targets = new Set<Value>();
    for (const node of matched) {
      const group = groupOf.get(node);
      if (group) targets.add(group.output);
      else for (const output of node.outputs) if (isFloatType(types.get(output)) && !statics.has(output)) targets.add(output);
    }
    if (targets.size === 0) {
      throw new QuantkitError('QK_CONFIG', `${what} matches only nodes with no float activation output (${matched.slice(0, 3).map((n) => n.describe()).join(', ')}).`, {
        hint: 'Shape computations and constants are never quantized; point the override at the op whose output you mean.',
        subject: override.node ?? override.opType,
      });
    }
    for (const value of targets) {
      decided.delete(value);
      decided.set(value, override.dtype!);
    }
  });

  const diagnostics: PassDiagnostic[] = [];
  const { activations } = plan;
  const sourceDtype = (value: Value): ActivationDtype | undefined => {
    let entry = activations.get(value);
    for (let hops = 0; entry?.shareWith && hops < activations.size; hops++) entry = activations.get(entry.shareWith);
    return entry?.dtype;
  };

  const quantized = [...decided].filter((d): d is [Value, ActivationDtype] => d[1] !== 'float');
  const sharers: [Value, ActivationDtype][] = [];
  for (const [value, dtype] of quantized) {
    const entry = activations.get(value);
    if (entry?.shareWith) sharers.push([value, dtype]);
    else if (entry) entry.dtype = dtype;
    else if (plan.float.delete(value)) activations.set(value, { value, dtype });
    else {
      diagnostics.push({
        pass: 'overrides',
        level: 'info',
        message: `${value.name} stays at high precision; a ${dtype} override does not lower it.`,
        node: value.producer()?.name,
      });
    }
  }
  // In graph order, so that a sharer sees its source's final dtype when the source is a sharer too.
  const position = new Map(nodes.map((n, i) => [n, i]));
  sharers.sort((a, b) => (position.get(a[0].producer()!) ?? 0) - (position.get(b[0].producer()!) ?? 0));
  for (const [value, dtype] of sharers) {
    const entry = activations.get(value)!;
    if (sourceDtype(entry.shareWith!) !== dtype) delete entry.shareWith;
    entry.dtype = dtype;
  }

  // `inherited`: the dtype of the source a sharer shared, which is gone from `activations` by the time it is read.
  const makeFloat = (value: Value, inherited?: ActivationDtype) => {
    const dtype = sourceDtype(value) ?? inherited ?? template.activation;
    activations.delete(value);
    plan.highPrecision.delete(value);
    plan.float.add(value);
    for (const entry of [...activations.values()]) {
      if (entry.shareWith !== value) continue;
      const own = decided.get(entry.value);
      if (own !== undefined && own !== 'float') {
        delete entry.shareWith;
        entry.dtype = own;
      } else {
        makeFloat(entry.value, dtype);
      }
    }
    const gemmUses = value.uses().filter((use) => readsAsGemmActivation(use, groupOf));
    if (gemmUses.length > 0) activations.set(value, { value, dtype, uses: gemmUses });
  };
  for (const [value, dtype] of decided) if (dtype === 'float') makeFloat(value);

  valid.forEach((override, index) => {
    if (override.weight !== undefined) diagnostics.push(...applyWeightOverride(plan, override, index, matchedBy[index]!, groupOf));
  });
  return diagnostics;
}

/** The `weight` of one override (see applyOverrides), once every `dtype` is applied. */
function applyWeightOverride(
  plan: QuantPlan,
  override: Override,
  index: number,
  matched: readonly Node[],
  groupOf: ReadonlyMap<Node, GemmGroup>,
): PassDiagnostic[] {
  const what = describeOverride(override, index);
  const exact = override.node !== undefined && !/[*?]/.test(override.node);
  const strict = exact || override.node === undefined;
  const groups = new Set<GemmGroup>();
  const others: Node[] = [];
  for (const node of matched) {
    const group = groupOf.get(node);
    if (group?.weight) groups.add(group);
    else others.push(node);
  }
  if (others.length > 0 && (strict || groups.size === 0)) {
    const node = others[0]!;
    const group = groupOf.get(node);
    const why = group
      ? `it multiplies two activations (${group.node.describe()} has no constant weight)`
      : 'it is not a GEMM-like op (Conv, ConvTranspose, Gemm, MatMul) or part of one';
    throw new QuantkitError('QK_CONFIG', `${what} sets a weight type on ${node.describe()}, but ${why}.`, {
      hint: 'A `weight` override applies to the Conv / ConvTranspose / Gemm / MatMul nodes with a constant weight; use `dtype` for activations.',
      subject: node.name,
    });
  }
  const diagnostics: PassDiagnostic[] = [];
  const weights = (plan.weights ??= new Map());
  const wanted = override.weight!;
  let raised = 0;
  for (const group of groups) {
    if (wanted === 'qint16' && hasHighPrecisionOutput(plan, group)) {
      const rule = `${group.node.describe()} has a high-precision output (${group.output.name} is not requantized: a model output, a reused output or a float override), and a GEMM with a high-precision output keeps qint8 weights`;
      if (exact || groups.size === 1) {
        throw new QuantkitError('QK_CONFIG', `${what} asks for qint16 weights, but ${rule}.`, {
          hint: 'Leave this node out of the override; its int32 / float32 output is already at the precision int16 weights would serve.',
          subject: group.node.name,
        });
      }
      diagnostics.push({ pass: 'overrides', level: 'info', node: group.node.name, message: `${what}: ${rule}; it keeps them.` });
      continue;
    }
    weights.set(group, wanted);
    raised++;
  }
  if (wanted === 'qint16' && raised === 0) {
    throw new QuantkitError('QK_CONFIG', `${what} asks for qint16 weights, but every GEMM it matches has a high-precision output, and a GEMM with a high-precision output keeps qint8 weights.`, {
      subject: override.node ?? override.opType,
    });
  }
  return diagnostics;
}

/** Whether a use is a GEMM group's activation operand (input 0, or input 1 of a MatMul of two activations). */
function readsAsGemmActivation(use: Use, groupOf: Map<Node, GemmGroup>): boolean {
  const group = groupOf.get(use.node);
  if (!group || group.node !== use.node) return false;
  return use.index === 0 || (group.input2 !== undefined && use.index === 1);
}
