import { QuantkitError } from '../../errors/quantkit-error.js';
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import type { ActivationDtype, ActivationQuant, GemmGroup, QuantPlan } from '../../prepare/quant-plan.js';
import { setQuantPlan } from '../../prepare/quant-plan.js';
import { scaleFromAmax } from '../../quant/numerics.js';
import type { QParams } from '../../quant/observer.js';
import { constantSource } from '../constant-source.js';

/**
 * Hand-built quantization plans for tests, so the QDQ export is tested apart from prepare(): a GemmGroup per
 * MatMul (with the Add of a constant bias that follows it) or Conv / Gemm node.
 */
export function gemmGroup(node: Node): GemmGroup {
  const kind = node.opType as GemmGroup['kind'];
  const input = node.inputs[0]!;
  const second = node.inputs[1]!;
  const constant = constantSource(second) !== undefined;
  const weight = constant ? second : undefined;
  const rank = constantSource(second)?.tensor.dims.length ?? 2;
  const weightAxis =
    kind === 'MatMul'
      ? rank - 1
      : kind === 'Gemm'
      ? Number(node.attribute('transB')?.value ?? 0) === 1
        ? 0
        : 1
      : kind === 'ConvTranspose'
      ? 1
      : 0;
  let bias = node.inputs[2];
  let biasAdd: Node | undefined;
  let output = node.outputs[0]!;
  const nodes = [node];
  const users = output.uses();
  if (!bias && users.length === 1 && users[0]!.node.opType === 'Add' && !output.isGraphOutput()) {
    const add = users[0]!.node;
    const other = add.inputs[1 - users[0]!.index];
    if (other && constantSource(other)) {
      bias = other;
      biasAdd = add;
      output = add.outputs[0]!;
      nodes.push(add);
    }
  }
  return {
    kind,
    node,
    input,
    weight,
    input2: constant ? undefined : second,
    weightAxis,
    bias,
    biasAdd,
    activation: undefined,
    epilogue: [],
    output,
    nodes,
  };
}

export function quant(
  value: Value,
  dtype: ActivationDtype,
  extra: Partial<Pick<ActivationQuant, 'uses' | 'shareWith'>> = {},
): ActivationQuant {
  return { value, dtype, ...extra };
}

export function attachPlan(
  model: Model,
  parts: { groups?: GemmGroup[]; activations?: ActivationQuant[]; highPrecision?: Value[]; float?: Value[] },
): QuantPlan {
  const plan: QuantPlan = {
    template: 'test',
    groups: parts.groups ?? [],
    activations: new Map((parts.activations ?? []).map((a) => [a.value, a])),
    highPrecision: new Set(parts.highPrecision ?? []),
    float: new Set(parts.float ?? []),
  };
  setQuantPlan(model, plan);
  return plan;
}

/** Per-tensor QParams from an amax, as an observer would give them. */
export function qparamsFromAmax(amax: number, dtype: ActivationDtype): QParams {
  return {
    dtype,
    granularity: { kind: 'per-tensor' },
    scale: new Float32Array([scaleFromAmax(amax, dtype)]),
    amax: new Float32Array([amax]),
  };
}

export function nodeNamed(model: Model, name: string): Node {
  for (const node of model.graph) if (node.name === name) return node;
  throw new QuantkitError('QK_IR_MISUSE', `no node ${name}`);
}

export function valueNamed(model: Model, name: string): Value {
  const value = model.graph.valuesByName().get(name);
  if (!value) throw new QuantkitError('QK_IR_MISUSE', `no value ${name}`);
  return value;
}
