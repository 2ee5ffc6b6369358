import { openCalibrationSource, type CalibrationSpec, type Sample } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import { inputSpecs } from '../runtime/model-io.js';

/** The first sample of the calibration data, checked against `model`'s inputs: the one the reports measure on. */
export async function firstSample(spec: CalibrationSpec, model: Model): Promise<Sample> {
  const source = await openCalibrationSource(spec, inputSpecs(model));
  for await (const sample of source.samples()) return sample;
  throw new QuantkitError('QK_CALIB_DATA', 'The calibration data holds no samples.', { hint: 'Give at least one sample.' });
}
