import { channelLayoutOf, QRANGE, QuantkitError } from '@quantkit/core';
import type { ChannelLayout, Granularity, ObserverOptions, ObserverState } from '@quantkit/core';

/**
 * Checks both observers share: options and config on the way in, data shapes in `observe`, and saved states in
 * `merge` / `restore` (a calib.json may come from another run or have been edited, so nothing in it is trusted).
 */

export function checkOptions(kind: string, options: ObserverOptions): void {
  if (!Object.hasOwn(QRANGE, options.dtype)) {
    throw new QuantkitError('QK_CONFIG', `Observer '${kind}' got unknown dtype '${String(options.dtype)}'.`, {
      hint: `Use one of ${Object.keys(QRANGE).join(', ')}.`,
    });
  }
  if (!isGranularity(options.granularity)) {
    throw new QuantkitError('QK_CONFIG', `Observer '${kind}' got granularity ${JSON.stringify(options.granularity)}.`, {
      hint: "Use { kind: 'per-tensor' } or { kind: 'per-channel', axis: <integer> }.",
    });
  }
}

/** Rejects config keys the observer does not know, so a misspelt option is not silently ignored. */
export function checkConfigKeys(kind: string, config: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      throw new QuantkitError('QK_CONFIG', `Observer '${kind}' has no option '${key}'.`, {
        hint: `Its options are: ${known.join(', ')}.`,
      });
    }
  }
}

/** Horizon's averaging constant c of r ← r + c·(batch − r): a number in (0, 1]. */
export function checkAveragingConstant(kind: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new QuantkitError('QK_CONFIG', `Observer '${kind}' got averagingConstant ${JSON.stringify(value)}.`, {
      hint: 'averagingConstant must be a number in (0, 1]; Horizon uses 0.01.',
    });
  }
  return value;
}

/**
 * The channel layout of one observed batch: per tensor, the whole tensor is one run of one channel. The channel
 * count must not change between batches (`channels` is the count seen so far, if any).
 */
export function batchLayout(
  kind: string,
  granularity: Granularity,
  data: Float32Array,
  dims: readonly number[],
  channels: number | undefined,
): ChannelLayout {
  const layout =
    granularity.kind === 'per-tensor'
      ? { outer: 1, channels: 1, inner: shapeSize(dims, data) }
      : channelLayoutOf(data, dims, granularity.axis);
  if (channels !== undefined && layout.channels !== channels) {
    throw new QuantkitError(
      'QK_TENSOR_DATA',
      `Observer '${kind}' saw ${channels} channels before and now ${layout.channels} (dims [${dims.join(', ')}]).`,
      { hint: 'A per-channel observer must see the same channel count in every batch.' },
    );
  }
  return layout;
}

function shapeSize(dims: readonly number[], data: Float32Array): number {
  let size = 1;
  for (const dim of dims) size *= Number.isInteger(dim) && dim >= 0 ? dim : NaN;
  if (size !== data.length) {
    throw new QuantkitError(
      'QK_TENSOR_DATA',
      `Tensor data has ${data.length} elements but dims [${dims.join(', ')}] describe ${size}.`,
    );
  }
  return size;
}

export function nonFiniteData(kind: string, value: number): QuantkitError {
  return new QuantkitError('QK_CALIB_DATA', `Observer '${kind}' saw ${value} in the calibration data.`, {
    hint: 'Calibration data and the activations it produces must be finite; check the inputs and the model.',
  });
}

export function noData(kind: string): QuantkitError {
  return new QuantkitError('QK_CALIB_DATA', `Observer '${kind}' has seen no data, so it has no scale to give.`, {
    hint: 'Run calibration over at least one sample that reaches this tensor.',
  });
}

export function badState(kind: string, problem: string, cause?: unknown): QuantkitError {
  return new QuantkitError('QK_CALIB_DATA', `Cannot use a saved '${kind}' observer state: ${problem}.`, {
    hint: 'Re-run calibration, or merge only states written by the same observer with the same settings.',
    cause,
  });
}

/** Checks that a saved state belongs to an observer of this kind, dtype and granularity. */
export function checkStateHeader(kind: string, options: ObserverOptions, state: ObserverState): void {
  if (state.kind !== kind) throw badState(kind, `it was written by observer '${String(state.kind)}'`);
  if (state.dtype !== options.dtype) throw badState(kind, `its dtype is ${state.dtype}, not ${options.dtype}`);
  if (!sameGranularity(state.granularity, options.granularity)) {
    throw badState(
      kind,
      `its granularity is ${JSON.stringify(state.granularity)}, not ${JSON.stringify(options.granularity)}`,
    );
  }
}

function sameGranularity(a: unknown, b: Granularity): boolean {
  if (!isGranularity(a)) return false;
  if (a.kind === 'per-tensor' || b.kind === 'per-tensor') return a.kind === b.kind;
  return a.axis === b.axis;
}

function isGranularity(value: unknown): value is Granularity {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, axis } = value as Record<string, unknown>;
  return kind === 'per-tensor' || (kind === 'per-channel' && Number.isInteger(axis));
}

/** A non-negative integer field of a saved state. */
export function readCount(kind: string, state: ObserverState, key: string): number {
  const value = state[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badState(kind, `'${key}' is ${JSON.stringify(value)}, not a count`);
  }
  return value;
}

/** An array-of-finite-numbers field of a saved state. */
export function readNumbers(kind: string, state: ObserverState, key: string): number[] {
  const value = state[key];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw badState(kind, `'${key}' is not an array of finite numbers`);
  }
  return value as number[];
}
