import type { Command } from 'commander';
import type { Io } from './output.js';

/**
 * The verbs, each with the one-line summary `quantkit --help` lists and the loader of its command module. A verb's
 * module (and with it @quantkit/core, onnxruntime and the plugins) is imported only when that verb runs, so
 * `quantkit --version` and `--help` start as fast as node itself. The summaries must equal the descriptions the
 * modules register (a test checks).
 */
export interface Verb {
  name: string;
  summary: string;
  register(program: Command, io: Io): Promise<void>;
}

export const VERBS: readonly Verb[] = [
  {
    name: 'inspect',
    summary: 'summarise a model: inputs, outputs, opsets, ops before and after canonicalize, parameters, GEMM-like nodes, unsupported ops',
    register: async (p, io) => (await import('./commands/inspect.js')).registerInspect(p, io),
  },
  {
    name: 'canonicalize',
    summary: 'run the canonicalize phase (constant folding, BN / affine folding, one op per activation) and write the float model',
    register: async (p, io) => (await import('./commands/canonicalize.js')).registerCanonicalize(p, io),
  },
  {
    name: 'calibrate',
    summary: 'prepare and calibrate a float model; write calib.json, qat.onnx (QDQ, opset 21) and report.json',
    register: async (p, io) => (await import('./commands/calibrate.js')).registerCalibrate(p, io),
  },
  {
    name: 'merge-calib',
    summary: 'merge the calib.json of calibration shards into one, equal to one run over all the data',
    register: async (p, io) => (await import('./commands/calibrate.js')).registerMergeCalib(p, io),
  },
  {
    name: 'sensitivity',
    summary:
      'per-tensor sensitivity table: the error of quantizing each activation and GEMM weight alone, the gain of raising it to int16, and its latency cost',
    register: async (p, io) => (await import('./commands/sensitivity.js')).registerSensitivity(p, io),
  },
  {
    name: 'merge-sensitivity',
    summary: 'join the sensitivity.json of sensitivity shards into the one a single run writes',
    register: async (p, io) => (await import('./commands/sensitivity.js')).registerMergeSensitivity(p, io),
  },
  {
    name: 'perf',
    summary:
      'estimate per-op and total latency, MACs and DDR traffic of a quantized model on a Nash chip, and the CPU time to dequantize its outputs (a roofline cost model: an estimate, not a measurement)',
    register: async (p, io) => (await import('./commands/perf.js')).registerPerf(p, io),
  },
  {
    name: 'compare',
    summary:
      'run two models with the same inputs on the same samples and print per-output metrics of <b> against <a> (SQNR, cosine, max / mean abs error, top-1 agreement of classifier outputs, aggregated over all samples)',
    register: async (p, io) => (await import('./commands/compare.js')).registerCompare(p, io),
  },
  {
    name: 'plugins',
    summary:
      "list the plugins found (official ones installed, the config's, --plugin) and the marches, observers, passes and templates each provides; exit 1 if one of them failed to load",
    register: async (p, io) => (await import('./commands/plugins.js')).registerPlugins(p, io),
  },
  {
    name: 'convert',
    summary: "convert a symmetric QDQ model (qat.onnx) to the march's integer model (quantized.onnx)",
    register: async (p, io) => (await import('./commands/convert.js')).registerConvert(p, io),
  },
  {
    name: 'quantize',
    summary: "the seed's whole flow: calibrate, export qat.onnx, convert to the march's integer model, measure it",
    register: async (p, io) => (await import('./commands/quantize.js')).registerQuantize(p, io),
  },
  {
    name: 'report',
    summary: 'turn a report.json (of calibrate or quantize, of any quantkit version) into a self-contained report.html',
    register: async (p, io) => (await import('./commands/report.js')).registerReport(p, io),
  },
];
