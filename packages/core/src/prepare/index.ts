export { buildQuantPlan, type BuiltPlan } from './build-plan.js';
export { constantTensor, staticValues } from './constants.js';
export { finalizePlan } from './finalize-plan.js';
export { findGemmGroups, type GemmGroups, type UnfusedGemm } from './fuse-gemm.js';
export {
  applyOverrides,
  describeOverride,
  globToRegExp,
  loadQuantConfig,
  OVERRIDE_DTYPES,
  parseQuantConfig,
  REUSED_OUTPUTS,
  type Override,
  type OverrideDtype,
  type QuantConfig,
  type ReusedOutputs,
} from './overrides.js';
export { prepare, type PrepareOptions, type PrepareResult } from './prepare.js';
export { BUILTIN_TEMPLATES, INT16_TEMPLATE, INT16W_TEMPLATE, INT8_TEMPLATE, templateByName, templateFromOption } from './templates.js';
