/**
 * Stable error codes, alphabetised. A code never changes meaning once released; add new ones instead.
 */
export const ERROR_CODES = [
  'QK_ASYMMETRIC_QDQ',
  'QK_ATTRIBUTE',
  'QK_CALIB_DATA',
  'QK_CALIB_FILE',
  'QK_CONFIG',
  'QK_DUPLICATE_REGISTRATION',
  'QK_EXTERNAL_DATA',
  'QK_EXTERNAL_DATA_PATH',
  'QK_FILE_EMPTY',
  'QK_FILE_NOT_FOUND',
  'QK_FILE_READ',
  'QK_FILE_WRITE',
  'QK_GRAPH_INVALID',
  'QK_INPUT_SHAPE',
  'QK_IR_MISUSE',
  'QK_MARCH_UNKNOWN',
  'QK_MODEL_DECODE',
  'QK_MODEL_MISMATCH',
  'QK_MODEL_NOT_ONNX',
  'QK_MODEL_TOO_LARGE',
  'QK_PASS_FAILED',
  'QK_PLUGIN_LOAD',
  'QK_PRECISION',
  'QK_REPORT_INVALID',
  'QK_RESCALE',
  'QK_RUNTIME',
  'QK_SHARD',
  'QK_TENSOR_DATA',
  'QK_UNKNOWN',
  'QK_UNSUPPORTED',
  'QK_USAGE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
