import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import { tensorElemType, tensorShape, tensorType } from '../ir/type-info.js';

/** One `--input-shape name=1x3x160x160`: the input's name and its dims as written (checked by fixInputShapes). */
export interface InputShape {
  name: string;
  dims: number[];
}

/** Where the shape of an input came from, for report.json. */
export type InputShapeSource = '--input-shape' | 'the model' | `the first sample (${string})`;

/** The shape every non-initializer graph input was fixed to, and where that shape came from. */
export type ResolvedInputShapes = Record<string, { shape: number[]; from: InputShapeSource }>;

const FLAG = '--input-shape';

/**
 * Parses `name=DxDx…` (dims separated by `x`, `,` or `*`). Only the syntax is checked here, so that a zero or
 * negative dim is reported with the input it belongs to once the model is known (fixInputShapes). A name may
 * itself contain `=`: the last one separates it from the dims.
 */
export function parseInputShape(text: string): InputShape {
  const at = text.lastIndexOf('=');
  const name = at < 0 ? '' : text.slice(0, at);
  const dimsText = at < 0 ? '' : text.slice(at + 1);
  const parts = dimsText.split(/[x,*]/);
  if (name === '' || dimsText === '' || parts.some((p) => !/^-?\d+$/.test(p))) {
    throw new QuantkitError('QK_USAGE', `${FLAG} ${JSON.stringify(text)}: expected name=DIMS with DIMS like 1x3x160x160.`, {
      hint: `Give one ${FLAG} per model input whose shape you want to fix.`,
    });
  }
  return { name, dims: parts.map(Number) };
}

function shapeError(input: string, message: string, hint: string): QuantkitError {
  return new QuantkitError('QK_INPUT_SHAPE', `${FLAG} ${input}: ${message}`, { subject: input, hint });
}

/**
 * Resolves the shape of every non-initializer input of `model`: from `given` (the flags) first, else from
 * `sample` (the first calibration sample's shapes, which fix the symbolic dims), else the model's own dims when
 * they are all fixed. Checks each given shape: the input exists, the rank matches, every dim is ≥ 1, and a dim
 * the model fixes is not contradicted. An input left with symbolic dims is absent from the result.
 */
export function resolveInputShapes(
  model: Model,
  given: readonly InputShape[],
  sample?: { id: string; shapes: ReadonlyMap<string, readonly number[]> },
): ResolvedInputShapes {
  const { graph } = model;
  const inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
  const names = inputs.map((v) => v.name);
  const result: ResolvedInputShapes = {};
  const seen = new Set<string>();
  for (const { name, dims } of given) {
    const input = inputs.find((v) => v.name === name);
    if (!input) {
      throw shapeError(name, `the model has no input named '${name}'.`, `Its inputs are: ${names.join(', ') || 'none'}.`);
    }
    if (seen.has(name)) throw shapeError(name, `given twice.`, `Give one ${FLAG} per input.`);
    seen.add(name);
    const declared = tensorShape(input.type);
    if (declared !== undefined && declared.length !== dims.length) {
      throw shapeError(
        name,
        `rank ${dims.length} (${dims.join('x')}), but input '${name}' has rank ${declared.length} [${declared.map((d) => d ?? '?').join(', ')}].`,
        `Give ${declared.length} dims.`,
      );
    }
    dims.forEach((dim, axis) => {
      if (dim < 1) throw shapeError(name, `dim ${axis} of input '${name}' is ${dim}; every dim must be at least 1.`, 'Give positive dims.');
      const fixed = declared?.[axis];
      if (typeof fixed === 'number' && fixed !== dim) {
        throw shapeError(name, `dim ${axis} of input '${name}' is fixed to ${fixed} by the model, not ${dim}.`, `Give ${fixed} there, or leave the flag out.`);
      }
    });
    result[name] = { shape: [...dims], from: FLAG };
  }
  for (const input of inputs) {
    if (result[input.name]) continue;
    const declared = tensorShape(input.type);
    const fromSample = sample?.shapes.get(input.name);
    if (declared !== undefined && declared.every((d): d is number => typeof d === 'number')) {
      result[input.name] = { shape: declared, from: 'the model' };
    } else if (fromSample !== undefined) {
      result[input.name] = { shape: [...fromSample], from: `the first sample (${sample!.id})` };
    }
  }
  return result;
}

/**
 * Fixes the dims of the model's inputs in place to `shapes` (as resolveInputShapes checked them). Returns whether
 * any declared dim changed.
 */
export function fixInputShapes(model: Model, shapes: ResolvedInputShapes): boolean {
  let changed = false;
  for (const input of model.graph.inputs) {
    const resolved = shapes[input.name];
    if (!resolved || model.graph.initializers.has(input.name)) continue;
    const declared = tensorShape(input.type);
    if (declared && declared.length === resolved.shape.length && declared.every((d, i) => d === resolved.shape[i])) continue;
    const elemType = tensorElemType(input.type);
    if (elemType === undefined) continue;
    input.type = tensorType(elemType, resolved.shape);
    changed = true;
  }
  return changed;
}

/**
 * Checks `given` against the model and fixes those inputs' shapes in place — for the verbs that run a model they
 * do not write (perf, compare). Returns the shapes given.
 */
export function applyInputShapes(model: Model, given: readonly InputShape[]): ResolvedInputShapes {
  const resolved = resolveInputShapes(model, given);
  const chosen = Object.fromEntries(Object.entries(resolved).filter(([, r]) => r.from === FLAG));
  fixInputShapes(model, chosen);
  return chosen;
}
