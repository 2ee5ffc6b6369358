import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import { inferElemTypes } from '../ir/infer-types.js';
import type { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorShape } from '../ir/type-info.js';
import { Value } from '../ir/value.js';
import { constantSource } from './constant-source.js';
import { NameScope } from './name-scope.js';

export interface UpgradeResult {
  /** The ai.onnx opset the model had. */
  readonly from: number;
  readonly to: number;
  /** The nodes rewritten, described as `'name' (OpType)`. */
  readonly rewritten: readonly string[];
}

/** The lowest opset quantkit upgrades from: before 7, Add / Mul / Gemm broadcast by legacy attributes. */
export const MIN_UPGRADABLE_OPSET = 7;

/**
 * Rewrites a model in place to ai.onnx opset `target`, for the ops whose signature or meaning changed between
 * the model's opset and `target`:
 * 1. attributes that became inputs: `axes` of ReduceSum (13), Squeeze / Unsqueeze (13) and the other Reduce ops
 *    (18); `split` of Split (13); `min` / `max` of Clip (11); `pads` / `value` of Pad (11); `starts` / `ends` /
 *    `axes` of Slice (10); `k` of TopK (10); `ratio` of Dropout (12);
 * 2. Split without sizes gets `num_outputs` (18);
 * 3. Softmax / LogSoftmax / Hardmax (13) stop flattening the input at `axis`: a node whose axis is not the last
 *    one becomes Flatten → op(axis = -1) → Reshape back, which computes exactly what the old op did;
 * 4. Upsample (deprecated at 10) and Resize-10 become Resize-11 with the old coordinate rule ('asymmetric',
 *    nearest rounding 'floor', or 'ceil' for a shrinking Resize-10, as onnxruntime computes it); a Resize-10 that
 *    both shrinks and enlarges, and Resize-11's 'tf_half_pixel_for_nn' (removed at 13), are refused;
 * 5. GridSample's mode names (20): 'bilinear' → 'linear', 'bicubic' → 'cubic';
 * 6. Scatter (deprecated at 11) becomes ScatterElements, its identical successor;
 * 7. BatchNormalization loses `spatial` (9); RoiAlign gets its old 'output_half_pixel' coordinates explicitly (16);
 * 8. refused with QK_UNSUPPORTED, naming the node: GroupNormalization before 21 (scale and bias changed shape),
 *    DFT before 20, Scan before 9, BatchNormalization with training outputs, the experimental ops removed at 10,
 *    and any model below opset {@link MIN_UPGRADABLE_OPSET}.
 * Values keep their identity and names (a rewritten op's output is the same Value), so side tables keyed by Value
 * stay valid. The IR version is raised to what `target` needs (10 for opset 21). Other domains are not touched.
 */
export function upgradeOpset(model: Model, target = 21): UpgradeResult {
  const from = model.opset;
  if (from > target) {
    throw new QuantkitError(
      'QK_UNSUPPORTED',
      `The model has ai.onnx opset ${from}; quantkit cannot lower it to ${target}.`,
    );
  }
  if (from < MIN_UPGRADABLE_OPSET) {
    throw new QuantkitError(
      'QK_UNSUPPORTED',
      `The model has ai.onnx opset ${from}; quantkit upgrades models from opset ${MIN_UPGRADABLE_OPSET} on.`,
      { hint: 'Re-export the model at a newer opset (onnx.version_converter can help).' },
    );
  }
  const rewritten: string[] = [];
  if (from < target) {
    const names = new NameScope(model);
    const types = inferElemTypes(model.graph);
    const elemType = (value: Value | undefined) => (value ? types.get(value) ?? value.constValue?.dtype : undefined);
    for (const node of [...model.graph.allNodes()]) {
      if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
      const rules = RULES[node.opType];
      if (!rules) continue;
      const ctx: Context = { node, graph: node.graph!, names, elemType, target };
      const described = node.describe();
      let changed = false;
      for (const rule of rules) {
        if (target >= rule.since && (from < rule.since || rule.always === true)) changed = rule.apply(ctx) || changed;
      }
      if (changed) rewritten.push(described);
    }
  }
  if (model.opsetImports.has('ai.onnx')) model.opsetImports.set('ai.onnx', target);
  if (!model.opsetImports.has('ai.onnx') || model.opsetImports.has('')) model.opsetImports.set('', target);
  model.irVersion = Math.max(model.irVersion, minIrVersion(target));
  return { from, to: target, rewritten };
}

/** The IR version an opset needs (onnx/helper.py VERSION_TABLE). */
function minIrVersion(opset: number): number {
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 12) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  if (opset >= 9) return 4;
  return 3;
}

interface Context {
  readonly node: Node;
  readonly graph: Graph;
  readonly names: NameScope;
  readonly target: number;
  elemType(value: Value | undefined): number | undefined;
}

interface Rule {
  /** The opset whose version of the op this rule produces. */
  readonly since: number;
  /** Apply whenever the target reaches `since`, even from a newer opset (deprecated ops that may still appear). */
  readonly always?: boolean;
  /** Returns whether it changed the node. */
  apply(ctx: Context): boolean;
}

function refuse(ctx: Context, why: string, hint?: string): never {
  throw new QuantkitError(
    'QK_UNSUPPORTED',
    `Node ${ctx.node.describe()}: ${why}; quantkit cannot upgrade it to opset ${ctx.target}.`,
    { subject: ctx.node.name || ctx.node.opType, hint: hint ?? 'Re-export the model at a newer opset.' },
  );
}

function constInput(ctx: Context, suffix: string, tensor: Tensor): Value {
  const name = ctx.names.unique(`${ctx.node.name || ctx.node.opType}_${suffix}`);
  return ctx.graph.addInitializer(new Value(name), tensor);
}

/** Sets input `index`, first padding skipped optional inputs with empty ones. */
function setInputAt(node: Node, index: number, value: Value | undefined): void {
  while (node.inputs.length < index) node.appendInput(undefined);
  if (index === node.inputs.length) node.appendInput(value);
  else node.setInput(index, value);
}

function int64s(values: readonly number[]): Tensor {
  return Tensor.fromArray(
    BigInt64Array.from(values, (v) => BigInt(v)),
    [values.length],
  );
}

/** A scalar of the data's float type, for attributes that became inputs of the data's type. */
function floatScalar(ctx: Context, dtype: number, value: number, what: string): Tensor {
  if (dtype === DataType.FLOAT) return Tensor.fromArray(new Float32Array([value]), []);
  if (dtype === DataType.DOUBLE) return Tensor.fromArray(new Float64Array([value]), []);
  return refuse(ctx, `its ${what} would become a ${dtypeName(dtype)} input, which quantkit does not write`);
}

/** Moves an int list attribute to an int64 input. */
function intsToInput(attribute: string, index: number): Rule['apply'] {
  return (ctx) => {
    const value = ctx.node.attribute(attribute);
    if (!value) return false;
    ctx.node.attributes.delete(attribute);
    setInputAt(ctx.node, index, constInput(ctx, attribute, int64s(value.asNumbers())));
    return true;
  };
}

const reduceAxes = (since: number): Rule[] => [{ since, apply: intsToInput('axes', 1) }];

const softmaxRule: Rule = {
  since: 13,
  apply(ctx) {
    const { node } = ctx;
    const axis = node.attribute('axis')?.asNumber() ?? 1;
    const x = node.inputs[0]!;
    const rank = tensorShape(x.type)?.length;
    if (axis === -1 || (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1)) {
      // Same meaning; only the default changed (1 → -1), so an implicit axis must be written out.
      if (node.attribute('axis')) return false;
      node.setAttribute('axis', axis);
      return true;
    }
    // The old op normalises over the flattened dims [axis, rank); Flatten gives it exactly that last dim.
    const base = node.name || node.opType;
    const flat = new Value(ctx.names.unique(`${base}_flat`));
    const shape = new Value(ctx.names.unique(`${base}_input_shape`));
    ctx.graph.insertBefore(
      node,
      new Node({ opType: 'Shape', name: ctx.names.unique(`${base}_Shape`), inputs: [x], outputs: [shape] }),
    );
    ctx.graph.insertBefore(
      node,
      new Node({
        opType: 'Flatten',
        name: ctx.names.unique(`${base}_Flatten`),
        inputs: [x],
        outputs: [flat],
        attributes: { axis },
      }),
    );
    const output = node.outputs[0]!;
    node.replaceOutput(0, new Value(ctx.names.unique(`${output.name}_2d`)));
    node.setInput(0, flat);
    node.setAttribute('axis', -1);
    ctx.graph.insertAfter(
      node,
      new Node({
        opType: 'Reshape',
        name: ctx.names.unique(`${base}_Reshape`),
        inputs: [node.outputs[0], shape],
        outputs: [output],
      }),
    );
    return true;
  },
};

/**
 * Upsample and Resize-10 as Resize-11: their coordinates were `x_in = x_out / scale` ('asymmetric') and nearest
 * picked floor (onnx's resize_10_11 adapter).
 */
function toResize11(ctx: Context, scales: Value): void {
  const { node } = ctx;
  const mode = node.attribute('mode')?.asString() ?? 'nearest';
  node.opType = 'Resize';
  node.attributes.delete('scales');
  node.truncateInputs(1);
  if (ctx.target >= 11) node.appendInput(undefined);
  node.appendInput(scales);
  if (mode === 'nearest') {
    node.setAttribute('mode', 'nearest');
    if (ctx.target >= 11) node.setAttribute('nearest_mode', 'floor');
  } else if (mode === 'linear' || mode === 'bilinear') {
    node.setAttribute('mode', 'linear');
  } else {
    refuse(ctx, `interpolation mode '${mode}' has no Resize equivalent`);
  }
  if (ctx.target >= 11) node.setAttribute('coordinate_transformation_mode', 'asymmetric');
}

function removedAt10(ops: readonly string[]): Record<string, Rule[]> {
  const rule = (op: string): Rule => ({
    since: 10,
    always: true,
    apply: (ctx) => refuse(ctx, `the experimental op ${op} was removed at opset 10`),
  });
  return Object.fromEntries(ops.map((op) => [op, [rule(op)]]));
}

const RULES: Record<string, Rule[]> = {
  ReduceSum: reduceAxes(13),
  ReduceMean: reduceAxes(18),
  ReduceMax: reduceAxes(18),
  ReduceMin: reduceAxes(18),
  ReduceProd: reduceAxes(18),
  ReduceL1: reduceAxes(18),
  ReduceL2: reduceAxes(18),
  ReduceLogSum: reduceAxes(18),
  ReduceLogSumExp: reduceAxes(18),
  ReduceSumSquare: reduceAxes(18),
  Squeeze: [{ since: 13, apply: intsToInput('axes', 1) }],
  Unsqueeze: [{ since: 13, apply: intsToInput('axes', 1) }],
  Slice: [
    {
      since: 10,
      apply: (ctx) => {
        let changed = false;
        for (const [attribute, index] of [
          ['starts', 1],
          ['ends', 2],
          ['axes', 3],
        ] as const) {
          changed = intsToInput(attribute, index)(ctx) || changed;
        }
        return changed;
      },
    },
  ],
  TopK: [
    {
      since: 10,
      apply: (ctx) => {
        const k = ctx.node.attribute('k');
        if (!k) return false;
        ctx.node.attributes.delete('k');
        setInputAt(ctx.node, 1, constInput(ctx, 'k', int64s([k.asNumber()])));
        return true;
      },
    },
  ],
  Split: [
    { since: 13, apply: intsToInput('split', 1) },
    {
      since: 18,
      apply: (ctx) => {
        if (ctx.node.inputs[1] || ctx.node.attribute('num_outputs')) return false;
        ctx.node.setAttribute('num_outputs', ctx.node.outputs.length);
        return true;
      },
    },
  ],
  Clip: [
    {
      since: 11,
      apply: (ctx) => {
        const { node } = ctx;
        const min = node.attribute('min');
        const max = node.attribute('max');
        if (!min && !max) return false;
        const dtype = ctx.elemType(node.inputs[0]) ?? DataType.FLOAT;
        node.attributes.delete('min');
        node.attributes.delete('max');
        if (min) setInputAt(node, 1, constInput(ctx, 'min', floatScalar(ctx, dtype, min.asNumber(), 'min')));
        if (max) setInputAt(node, 2, constInput(ctx, 'max', floatScalar(ctx, dtype, max.asNumber(), 'max')));
        return true;
      },
    },
  ],
  Pad: [
    {
      since: 11,
      apply: (ctx) => {
        const { node } = ctx;
        const pads = node.attribute('pads');
        if (!pads) return false;
        const value = node.attribute('value');
        node.attributes.delete('pads');
        node.attributes.delete('value');
        setInputAt(node, 1, constInput(ctx, 'pads', int64s(pads.asNumbers())));
        if (value && value.asNumber() !== 0) {
          const dtype = ctx.elemType(node.inputs[0]) ?? DataType.FLOAT;
          setInputAt(node, 2, constInput(ctx, 'value', floatScalar(ctx, dtype, value.asNumber(), 'pad value')));
        }
        return true;
      },
    },
  ],
  Dropout: [
    {
      since: 12,
      apply: (ctx) => {
        const ratio = ctx.node.attribute('ratio');
        if (!ratio) return false;
        ctx.node.attributes.delete('ratio');
        setInputAt(ctx.node, 1, constInput(ctx, 'ratio', Tensor.fromArray(new Float32Array([ratio.asNumber()]), [])));
        return true;
      },
    },
  ],
  Softmax: [softmaxRule],
  LogSoftmax: [softmaxRule],
  Hardmax: [softmaxRule],
  Upsample: [
    {
      since: 10,
      always: true,
      apply: (ctx) => {
        const scalesAttribute = ctx.node.attribute('scales');
        const scales = scalesAttribute
          ? constInput(
              ctx,
              'scales',
              Tensor.fromArray(Float32Array.from(scalesAttribute.asNumbers()), [scalesAttribute.asNumbers().length]),
            )
          : ctx.node.inputs[1];
        if (!scales) refuse(ctx, 'it has no scales');
        toResize11(ctx, scales);
        return true;
      },
    },
  ],
  Resize: [
    {
      since: 11,
      apply: (ctx) => {
        const scales = ctx.node.inputs[1];
        if (!scales) refuse(ctx, 'it has no scales');
        const mode = ctx.node.attribute('mode')?.asString() ?? 'nearest';
        let rounding: 'floor' | 'ceil' = 'floor';
        if (mode === 'nearest') {
          // Resize-10 leaves nearest rounding unspecified; onnxruntime floors when enlarging and takes the ceiling
          // when shrinking. A resize that does both, or whose scales are only known at run time, cannot be matched.
          const data = constantSource(scales)?.tensor.toFloat32();
          if (data && data.every((s) => s <= 1) && data.some((s) => s < 1)) rounding = 'ceil';
          else if (!data || !data.every((s) => s >= 1)) {
            refuse(
              ctx,
              'a Resize-10 nearest resize that both shrinks and enlarges, or has run-time scales, has no exact Resize-11 equivalent',
            );
          }
        }
        toResize11(ctx, scales);
        if (mode === 'nearest') ctx.node.setAttribute('nearest_mode', rounding);
        return true;
      },
    },
    {
      since: 13,
      apply: (ctx) => {
        if (ctx.node.attribute('coordinate_transformation_mode')?.asString() === 'tf_half_pixel_for_nn') {
          refuse(ctx, "coordinate_transformation_mode 'tf_half_pixel_for_nn' was removed at opset 13");
        }
        return false;
      },
    },
  ],
  GridSample: [
    {
      since: 20,
      apply: (ctx) => {
        const renamed: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic' };
        const mode = ctx.node.attribute('mode')?.asString() ?? 'bilinear';
        const to = renamed[mode];
        if (!to) return false;
        ctx.node.setAttribute('mode', to);
        return true;
      },
    },
  ],
  Scatter: [
    {
      since: 11,
      always: true,
      apply: (ctx) => {
        ctx.node.opType = 'ScatterElements';
        return true;
      },
    },
  ],
  BatchNormalization: [
    {
      since: 9,
      apply: (ctx) => {
        const spatial = ctx.node.attribute('spatial');
        if (!spatial) return false;
        if (spatial.asNumber() === 0) refuse(ctx, 'spatial = 0 (per-element statistics) was removed at opset 9');
        ctx.node.attributes.delete('spatial');
        return true;
      },
    },
    {
      since: 14,
      apply: (ctx) => {
        if (ctx.node.outputs.slice(1).some((v) => v.name !== '')) {
          refuse(ctx, 'it has training-mode outputs (running mean / variance)', 'Export the model in inference mode.');
        }
        return false;
      },
    },
  ],
  RoiAlign: [
    {
      since: 16,
      apply: (ctx) => {
        if (ctx.node.attribute('coordinate_transformation_mode')) return false;
        ctx.node.setAttribute('coordinate_transformation_mode', 'output_half_pixel');
        return true;
      },
    },
  ],
  GroupNormalization: [
    {
      since: 21,
      apply: (ctx) =>
        refuse(ctx, 'GroupNormalization-18 takes per-group scale and bias; opset 21 takes them per channel'),
    },
  ],
  DFT: [{ since: 20, apply: (ctx) => refuse(ctx, 'DFT took its axis as an attribute before opset 20') }],
  Scan: [{ since: 9, apply: (ctx) => refuse(ctx, 'Scan-8 has a batch dimension that Scan-9 dropped') }],
  ...removedAt10([
    'Affine',
    'ConstantFill',
    'Crop',
    'DynamicSlice',
    'GRUUnit',
    'GivenTensorFill',
    'ImageScaler',
    'ParametricSoftplus',
    'Scale',
    'ScaledTanh',
  ]),
};
