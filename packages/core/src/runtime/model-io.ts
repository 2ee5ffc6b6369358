import type { InputSpec } from '../data/calibration-data.js';
import type { NpyDtype } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType, dtypeName } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { tensorElemType, tensorShape } from '../ir/type-info.js';

const NPY_OF_ONNX = new Map<number, NpyDtype>([
  [DataType.FLOAT, 'float32'],
  [DataType.DOUBLE, 'float64'],
  [DataType.INT8, 'int8'],
  [DataType.UINT8, 'uint8'],
  [DataType.INT16, 'int16'],
  [DataType.UINT16, 'uint16'],
  [DataType.INT32, 'int32'],
  [DataType.UINT32, 'uint32'],
  [DataType.INT64, 'int64'],
  [DataType.UINT64, 'uint64'],
  [DataType.BOOL, 'bool'],
]);

/** The `.npy` dtype of an ONNX element type, or undefined when numpy files cannot hold it (float16, strings…). */
export function npyDtypeOf(dataType: number): NpyDtype | undefined {
  return NPY_OF_ONNX.get(dataType);
}

/**
 * What calibration data must look like: the graph inputs that are not initializers (a model may list an
 * initializer as an input to make it overridable; it has a default, so samples need not feed it).
 */
export function inputSpecs(model: Model): InputSpec[] {
  const { graph } = model;
  return graph.inputs
    .filter((value) => !graph.initializers.has(value.name))
    .map((value) => {
      const elemType = tensorElemType(value.type);
      const dtype = elemType === undefined ? undefined : npyDtypeOf(elemType);
      if (dtype === undefined) {
        throw new QuantkitError(
          'QK_UNSUPPORTED',
          `Model input '${value.name}' is ${
            elemType === undefined ? 'not a tensor of known type' : `a ${dtypeName(elemType)} tensor`
          }, which calibration data (.npy / .npz) cannot feed`,
          { subject: value.name, hint: 'Give the input a float32, float64, integer or bool tensor type.' },
        );
      }
      const shape = tensorShape(value.type);
      if (shape === undefined) {
        throw new QuantkitError('QK_UNSUPPORTED', `Model input '${value.name}' has no shape (not even a rank)`, {
          subject: value.name,
          hint: 'Declare the input shape in the model (symbolic dims such as "batch" are fine).',
        });
      }
      // A dim past 2^53 (or one written as int64 2^63, which reads back negative) cannot size any buffer.
      const bad = shape.find((d) => typeof d === 'number' && (d < 0 || !Number.isSafeInteger(d)));
      if (bad !== undefined) {
        throw new QuantkitError('QK_MODEL_DECODE', `Model input '${value.name}' declares the dim ${bad}, which no tensor can have`, {
          subject: value.name,
          hint: 'Fix the input shape in the model, or give it a symbolic dim and --input-shape.',
        });
      }
      return { name: value.name, dtype, shape };
    });
}
