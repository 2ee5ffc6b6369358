import type { CalibrationResult } from '../calibrate/calibration-result.js';
import { qparamsFor } from '../calibrate/calibration-result.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Value } from '../ir/value.js';
import type { ActivationDtype, QuantPlan } from '../prepare/quant-plan.js';
import type { QParamsLookup } from '../qdq/export-qdq.js';
import type { ObserverFactory, QParams } from '../quant/observer.js';

/** Quantization parameters of a calibrated tensor (by name) at either activation dtype. */
export type QParamsAtDtype = (name: string, dtype: ActivationDtype) => QParams | undefined;

/**
 * One calibration, every dtype: the parameters of a tensor at `dtype` come from its observer state restored as an
 * observer of that dtype. An observer state records the data (minmax: the range; mse in histogram mode: the |x|
 * histogram), not a decision for one dtype, so this gives what calibrating the tensor at that dtype gives — int8
 * and int16 ranges from one pass over the data. (mse's per-batch mode stores clip values decided per batch for the
 * dtype it ran with; restored at the other dtype they keep that range.) Results are cached per name and dtype.
 */
export function qparamsAtDtype(result: CalibrationResult, factory: ObserverFactory, config?: Record<string, unknown>): QParamsAtDtype {
  // qparamsFor checks the observer kind and wraps restore errors with the tensor's name.
  qparamsFor(result, factory, config);
  const cache = new Map<string, QParams>();
  return (name, dtype) => {
    const key = `${dtype}\0${name}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const state = result.states.get(name);
    if (state === undefined) return undefined;
    let qparams: QParams;
    try {
      qparams = factory.restore(state.dtype === dtype ? state : { ...state, dtype }, config).qparams();
    } catch (cause) {
      throw new QuantkitError(
        cause instanceof QuantkitError ? cause.code : 'QK_CALIB_FILE',
        `No ${dtype} quantization parameters for tensor '${name}': ${(cause as Error).message}`,
        { subject: name, cause, hint: cause instanceof QuantkitError ? cause.hint : undefined },
      );
    }
    cache.set(key, qparams);
    return qparams;
  };
}

/** The lookup exportQdq takes for a plan: each tensor at the dtype the plan gives it (its calibrated one if none). */
export function lookupForPlan(paramsAt: QParamsAtDtype, plan: QuantPlan, fallback: ActivationDtype): QParamsLookup {
  return (value: Value) => paramsAt(value.name, plan.activations.get(value)?.dtype ?? fallback);
}
