import { QuantkitError } from '../errors/quantkit-error.js';
import type { Node } from '../ir/node.js';
import type { NarrowDtype } from './integer-ops.js';
import { floatAttr, floatsAttr, intAttr, stringAttr } from './node-attrs.js';
import { outputBounds, type OutputBounds } from './requant.js';

/**
 * The steps of quantkit::Epilogue (integer-ops.ts) and their arithmetic, in one place: the interpreter evaluates them
 * with {@link applyStep}, the onnxruntime lowering emits the same operations (lower.ts), so both compute the same
 * float32 value per element.
 *
 * Piecewise-linear steps are float32 arithmetic, every operation rounded to float32 (as the standard ops compute):
 * - Relu: max(x, 0); Clip: min(max(x, min), max);
 * - HardSigmoid: min(max(alpha · x + beta, 0), 1); HardSwish: x · HardSigmoid(x; alpha = float32(1/6), beta = 0.5);
 * - LeakyRelu: x < 0 ? alpha · x : x;
 * - ScaleShift: x · scale[c] + shift[c] (an inference BatchNormalization as the float32 pair a = scale / √(var + ε),
 *   b = B − mean · a), scale and shift being the node's next two inputs, float32 [C], channels on `axis`.
 * Transcendental steps compute in float64 from the float32 x and round the result to float32 once:
 * - Sigmoid: 1 / (1 + e^−x); Tanh: tanh x; SiLU: x · (1 / (1 + e^−x));
 * - GeluTanh: ((((x·x)·x)·0.044715 + x) · √(2/π)) → tanh → (t + 1) · x · 0.5, in that order.
 * (Gelu in its erf form is not a step: onnxruntime has no float64 Erf to lower it to.)
 */
export const EPILOGUE_STEPS = ['Relu', 'Clip', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'ScaleShift', 'Sigmoid', 'Tanh', 'GeluTanh', 'SiLU'] as const;
export type EpilogueStepOp = (typeof EPILOGUE_STEPS)[number];

/** How many values of step_params each step takes. */
export const STEP_PARAMS: Record<EpilogueStepOp, number> = {
  Relu: 0,
  Clip: 2,
  HardSigmoid: 2,
  HardSwish: 0,
  LeakyRelu: 1,
  ScaleShift: 0,
  Sigmoid: 0,
  Tanh: 0,
  GeluTanh: 0,
  SiLU: 0,
};

export type EpilogueStep =
  | { op: 'Relu' | 'HardSwish' | 'Sigmoid' | 'Tanh' | 'GeluTanh' | 'SiLU' }
  | { op: 'Clip'; min: number; max: number }
  | { op: 'HardSigmoid'; alpha: number; beta: number }
  | { op: 'LeakyRelu'; alpha: number }
  /** `input`: the node input holding the scales; the shifts are the next one. */
  | { op: 'ScaleShift'; input: number };

export interface EpilogueAttrs {
  accScale: number[];
  axis: number;
  steps: EpilogueStep[];
  outScale: number;
  outDtype: NarrowDtype;
  /** The output's integer bounds: the dtype's range narrowed by clip_min / clip_max. */
  bounds: OutputBounds;
}

/** HardSwish's slope: float32(1/6), as the standard op's alpha. */
export const HARD_SWISH_ALPHA = Math.fround(1 / 6);
export const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function attributeError(node: Node, message: string): QuantkitError {
  return new QuantkitError('QK_ATTRIBUTE', `Node ${node.describe()}: ${message}`, {
    subject: node.name,
    hint: 'quantkit::Epilogue is described in integer-ops.ts; convert writes it.',
  });
}

function isStep(op: string): op is EpilogueStepOp {
  return (EPILOGUE_STEPS as readonly string[]).includes(op);
}

/** Reads and checks a quantkit::Epilogue node. */
export function epilogueAttrs(node: Node): EpilogueAttrs {
  const accScale = floatsAttr(node, 'acc_scale');
  if (!accScale || accScale.length === 0 || accScale.some((s) => !(s > 0 && s < Infinity))) {
    throw attributeError(node, 'acc_scale must hold positive finite scales');
  }
  const outScale = floatAttr(node, 'out_scale');
  if (outScale === undefined || !(outScale > 0 && outScale < Infinity)) throw attributeError(node, 'out_scale must be a positive finite scale');
  const outDtype = stringAttr(node, 'out_dtype');
  if (outDtype !== 'int8' && outDtype !== 'int16') throw attributeError(node, `out_dtype must be 'int8' or 'int16', got '${outDtype ?? ''}'`);
  const names = (stringAttr(node, 'steps') ?? '').split(',').filter((name) => name !== '');
  if (names.length === 0) throw attributeError(node, 'steps must name at least one step (comma-separated)');
  const params = floatsAttr(node, 'step_params') ?? [];
  const steps: EpilogueStep[] = [];
  let p = 0;
  let input = 1;
  for (const op of names) {
    if (!isStep(op)) throw attributeError(node, `unknown step '${op}' (steps: ${EPILOGUE_STEPS.join(', ')})`);
    const take = STEP_PARAMS[op];
    if (p + take > params.length) throw attributeError(node, `step_params has too few values for step ${op}`);
    const v = params.slice(p, p + take);
    p += take;
    switch (op) {
      case 'Clip':
        steps.push({ op, min: v[0]!, max: v[1]! });
        break;
      case 'HardSigmoid':
        steps.push({ op, alpha: v[0]!, beta: v[1]! });
        break;
      case 'LeakyRelu':
        steps.push({ op, alpha: v[0]! });
        break;
      case 'ScaleShift':
        if (!node.inputs[input] || !node.inputs[input + 1]) throw attributeError(node, `step ScaleShift needs inputs ${input} and ${input + 1}`);
        steps.push({ op, input });
        input += 2;
        break;
      default:
        steps.push({ op });
    }
  }
  if (p !== params.length) throw attributeError(node, `step_params has ${params.length - p} values no step reads`);
  const clip = { min: intAttr(node, 'clip_min'), max: intAttr(node, 'clip_max') };
  return {
    accScale,
    axis: intAttr(node, 'axis', 1),
    steps,
    outScale,
    outDtype,
    bounds: outputBounds(outDtype, false, clip, `Node ${node.describe()}`),
  };
}

const f32 = Math.fround;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * One step on one float32 value `x` of channel `c`; `tables` holds the float32 scale / shift inputs by input index.
 * Returns a float32 value.
 */
export function applyStep(step: EpilogueStep, x: number, c: number, tables: ReadonlyMap<number, Float32Array>): number {
  switch (step.op) {
    case 'Relu':
      return x < 0 ? 0 : x;
    case 'Clip':
      return Math.min(Math.max(x, step.min), step.max);
    case 'HardSigmoid':
      return Math.min(Math.max(f32(f32(step.alpha * x) + step.beta), 0), 1);
    case 'HardSwish':
      return f32(x * Math.min(Math.max(f32(f32(HARD_SWISH_ALPHA * x) + 0.5), 0), 1));
    case 'LeakyRelu':
      return x < 0 ? f32(step.alpha * x) : x;
    case 'ScaleShift': {
      const scale = tables.get(step.input)!;
      const shift = tables.get(step.input + 1)!;
      const i = scale.length === 1 ? 0 : c;
      return f32(f32(x * scale[i]!) + shift[shift.length === 1 ? 0 : c]!);
    }
    case 'Sigmoid':
      return f32(sigmoid(x));
    case 'Tanh':
      return f32(Math.tanh(x));
    case 'SiLU':
      return f32(x * sigmoid(x));
    case 'GeluTanh': {
      let u = x * x;
      u *= x;
      u *= 0.044715;
      u += x;
      u *= SQRT_2_OVER_PI;
      let t = Math.tanh(u);
      t += 1;
      t *= x;
      t *= 0.5;
      return f32(t);
    }
  }
}
