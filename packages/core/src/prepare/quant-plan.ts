import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Use, Value } from '../ir/value.js';

/** Activation types: Horizon's qint8 and qint16. */
export type ActivationDtype = 'qint8' | 'qint16';

/**
 * Weight types of a GEMM's constant weight, per output channel, symmetric: qint8, or qint16 (Horizon's "double
 * int16" with int16 activations). Biases are qint32.
 */
export type WeightDtype = 'qint8' | 'qint16';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['qint8', 'qint16'];

export type GemmKind = 'Conv' | 'ConvTranspose' | 'Gemm' | 'MatMul';

/**
 * A GEMM-like op seen as one unit with its fused epilogue: Conv / ConvTranspose / Gemm / MatMul, the bias
 * (Conv's or Gemm's own input, or the constant operand of an Add after a MatMul, in either order), and a chain
 * of pointwise ops and scale-shifts after it (fuse-gemm.ts). Only `output` is quantized; the values between the fused nodes never are.
 */
export interface GemmGroup {
  readonly kind: GemmKind;
  /** The Conv / ConvTranspose / Gemm / MatMul node. */
  readonly node: Node;
  /** The activation input (input 0). */
  readonly input: Value;
  /** The constant weight, or undefined when both operands are activations (attention's Q·Kᵀ). */
  readonly weight: Value | undefined;
  /** The second activation operand when there is no constant weight. */
  readonly input2: Value | undefined;
  /** Output-channel axis of the weight: Conv 0, ConvTranspose 1, Gemm transB=1 0 / transB=0 1, MatMul last. */
  readonly weightAxis: number;
  /** The constant bias, if any. */
  readonly bias: Value | undefined;
  /** The Add that carries the bias of a MatMul (or of a Gemm without C). */
  readonly biasAdd: Node | undefined;
  /** The last node of the epilogue (a fused Relu or Clip, for the common one-op epilogue). */
  readonly activation: Node | undefined;
  /**
   * The fused epilogue after the bias, in order: pointwise activations (Relu, Clip, HardSwish, HardSigmoid,
   * Sigmoid, Tanh, LeakyRelu, Gelu, SiLU's Sigmoid + Mul) and per-channel scale-shifts (BatchNormalization).
   */
  readonly epilogue: readonly Node[];
  /** The group's final output (after bias and activation). */
  readonly output: Value;
  /** Every node in the group, in graph order. */
  readonly nodes: readonly Node[];
}

/**
 * One quantized activation tensor: a Q/DQ pair after its producer in qat.onnx, an observer during calibration.
 * - `uses` undefined: every consumer (and a graph output) reads the quantized copy.
 * - `uses` given: only those node inputs do (reused-output rescale: the graph output stays high precision).
 * - `shareWith`: a pass-through op's output reuses its input's scale; no observer of its own.
 */
export interface ActivationQuant {
  readonly value: Value;
  dtype: ActivationDtype;
  uses?: Use[];
  shareWith?: Value;
}

/** What prepare decided: which tensors are quantized how. Passes of the prepare phase edit it. */
export interface QuantPlan {
  /** The template it started from ('int8' | 'int16' | a plugin's). */
  template: string;
  groups: GemmGroup[];
  /** Quantized activations, in graph order. */
  activations: Map<Value, ActivationQuant>;
  /** GEMM outputs left at high precision: int32 on nash-m, float32 on nash-h, float in qat.onnx. */
  highPrecision: Set<Value>;
  /** Values an override keeps in float. */
  float: Set<Value>;
  /**
   * The weight type of each group with a constant weight (weightDtypeOf reads it; a group without an entry, or a
   * plan without the map, has qint8 weights). prepare settles it last: see settleWeightDtypes.
   */
  weights?: Map<GemmGroup, WeightDtype>;
}

const plans = new WeakMap<Model, QuantPlan>();

/** Attaches a plan to a prepared model (prepare does this; passes read it with quantPlanOf). */
export function setQuantPlan(model: Model, plan: QuantPlan): void {
  plans.set(model, plan);
}

export function hasQuantPlan(model: Model): boolean {
  return plans.has(model);
}

/** The plan of a prepared model; a prepare-phase pass calls this to read and edit it. */
export function quantPlanOf(model: Model): QuantPlan {
  const plan = plans.get(model);
  if (!plan) {
    throw new QuantkitError('QK_IR_MISUSE', 'This model has no quantization plan; run prepare() on it first.', {
      hint: 'Prepare-phase passes run inside prepare(), which builds the plan they edit.',
    });
  }
  return plan;
}

/** The weight type of a group: its entry in `plan.weights`, else qint8. */
export function weightDtypeOf(plan: QuantPlan, group: GemmGroup): WeightDtype {
  return plan.weights?.get(group) ?? 'qint8';
}

/**
 * Whether a group's output is high precision: not quantized for every reader (int32 on nash-m, float32 on nash-h,
 * float in qat.onnx) — a model output under the seed's rule, a reused output whose graph output stays high
 * precision, a float override, or an output no ActivationQuant covers. Such a GEMM keeps int8 weights.
 */
export function hasHighPrecisionOutput(plan: QuantPlan, group: GemmGroup): boolean {
  const out = group.output;
  if (plan.highPrecision.has(out) || plan.float.has(out)) return true;
  const quant = plan.activations.get(out);
  return quant === undefined || quant.uses !== undefined;
}

/** The group whose final output is `value`, if any. */
export function groupProducing(plan: QuantPlan, value: Value): GemmGroup | undefined {
  return plan.groups.find((g) => g.output === value);
}
